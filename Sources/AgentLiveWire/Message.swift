/// One WebSocket frame: `{"type": ..., "payload": ...}`.
public struct Message<Payload: Codable & Sendable>: Codable, Sendable {
    public var type: String
    public var payload: Payload

    public init(type: String, payload: Payload) {
        self.type = type
        self.payload = payload
    }
}

/// The names of the events the relay pushes to browsers.
public enum EventType {
    public static let taskQueued = "task:queued"
    public static let taskDispatched = "task:dispatched"
    public static let taskStarted = "task:started"
    public static let taskProgress = "task:progress"
    public static let taskMessage = "task:message"
    public static let taskCompleted = "task:completed"
    public static let taskFailed = "task:failed"
    public static let taskCancelled = "task:cancelled"
    public static let commentCreated = "comment:created"
}
