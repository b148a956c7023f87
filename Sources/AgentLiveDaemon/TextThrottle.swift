/// Coalesces an agent's text so a task sends at most one text message per
/// interval: text waits up to `interval` for more text to join it. Anything else
/// (a tool call, a result, an error) first flushes the waiting text, so the order
/// of what the agent did is kept. Thinking is throttled the same way but never
/// joins text: switching between the two flushes what waits, so a thinking run
/// and a text run are separate messages. Time is passed in, so tests control the clock.
public struct TextThrottle<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    public enum Output: Equatable, Sendable {
        case text(String)
        case thinking(String)
        case event(AgentEvent)
    }

    public let interval: Duration
    private var pending = ""
    private var pendingSince: Instant?
    /// Whether `pending` is thinking rather than text.
    private var pendingIsThinking = false

    public init(interval: Duration = .milliseconds(500)) {
        self.interval = interval
    }

    public mutating func receive(_ event: AgentEvent, at now: Instant) -> [Output] {
        let text: String
        let isThinking: Bool
        switch event {
        case .text(let value): (text, isThinking) = (value, false)
        case .thinking(let value): (text, isThinking) = (value, true)
        default: return flush() + [.event(event)]
        }
        guard !text.isEmpty else { return tick(at: now) }
        let switched = isThinking != pendingIsThinking ? flush() : []
        pendingIsThinking = isThinking
        if pendingSince == nil { pendingSince = now }
        pending += text
        return switched + tick(at: now)
    }

    /// Sends the waiting text once it has waited `interval`.
    public mutating func tick(at now: Instant) -> [Output] {
        guard let since = pendingSince, since.duration(to: now) >= interval else { return [] }
        return flush()
    }

    /// Sends whatever waits (the end of the session).
    public mutating func flush() -> [Output] {
        defer {
            pending = ""
            pendingSince = nil
        }
        return pending.isEmpty ? [] : [pendingIsThinking ? .thinking(pending) : .text(pending)]
    }
}
