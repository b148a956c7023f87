import NIOCore
import NIOWebSocket
import Synchronization

/// Who is subscribed to which issue, and the fan-out of events to them.
public final class Hub: Sendable {
    private struct State {
        var subscribers: [String: [ObjectIdentifier: ClientOutbox]] = [:]
        var subscriptions: [ObjectIdentifier: Set<String>] = [:]
        var clients: [ObjectIdentifier: ClientOutbox] = [:]
        /// The most clients connected at once since `takePeakConnections`.
        var peak = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func connect(_ client: ClientOutbox) {
        state.withLock { state in
            state.clients[ObjectIdentifier(client)] = client
            state.peak = max(state.peak, state.clients.count)
        }
    }

    public func disconnect(_ client: ClientOutbox) {
        let id = ObjectIdentifier(client)
        state.withLock { state in
            for issue in state.subscriptions.removeValue(forKey: id) ?? [] {
                state.subscribers[issue]?[id] = nil
                if state.subscribers[issue]?.isEmpty == true { state.subscribers[issue] = nil }
            }
            state.clients[id] = nil
        }
    }

    /// Returns the client's number of subscriptions afterwards.
    @discardableResult
    public func subscribe(_ client: ClientOutbox, to issue: String) -> Int {
        let id = ObjectIdentifier(client)
        return state.withLock { state in
            state.subscribers[issue, default: [:]][id] = client
            state.subscriptions[id, default: []].insert(issue)
            return state.subscriptions[id]?.count ?? 0
        }
    }

    public func unsubscribe(_ client: ClientOutbox, from issue: String) {
        let id = ObjectIdentifier(client)
        state.withLock { state in
            state.subscriptions[id]?.remove(issue)
            state.subscribers[issue]?[id] = nil
            if state.subscribers[issue]?.isEmpty == true { state.subscribers[issue] = nil }
        }
    }

    public func subscriptionCount(_ client: ClientOutbox) -> Int {
        state.withLock { $0.subscriptions[ObjectIdentifier(client)]?.count ?? 0 }
    }

    public func hasSubscribers(_ issue: String) -> Bool {
        state.withLock { $0.subscribers[issue] != nil }
    }

    /// Sends frames to every subscriber of `issue`, each client's in one write. The
    /// frames' bytes are shared, not copied per client.
    public func publish(_ frames: some Collection<ByteBuffer> & Sendable, to issue: String) {
        guard !frames.isEmpty else { return }
        let targets = state.withLock { $0.subscribers[issue].map { Array($0.values) } ?? [] }
        for client in targets { client.push(contentsOf: frames) }
    }

    public func publish(_ frame: ByteBuffer, to issue: String) {
        publish(CollectionOfOne(frame), to: issue)
    }

    public func broadcast(_ frame: ByteBuffer) {
        for client in allClients { client.push(frame) }
    }

    public func closeAll(_ code: WebSocketErrorCode, reason: String) {
        for client in allClients { client.requestClose(code, reason: reason) }
    }

    /// Enforces every client's deadline that has passed (see `ClientOutbox`).
    public func checkDeadlines(now: ContinuousClock.Instant = .now) {
        for client in allClients { client.checkDeadline(now: now) }
    }

    /// A snapshot, so clients are called without the hub's lock held.
    private var allClients: [ClientOutbox] { state.withLock { Array($0.clients.values) } }

    public var connectionCount: Int { state.withLock { $0.clients.count } }

    /// The most clients connected at once since the last call (at least those now).
    public func takePeakConnections() -> Int {
        state.withLock { state in
            defer { state.peak = state.clients.count }
            return max(state.peak, state.clients.count)
        }
    }
}
