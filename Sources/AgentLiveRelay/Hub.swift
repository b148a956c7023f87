import NIOCore
import NIOWebSocket
import Synchronization

/// Who is subscribed to which issue, and the fan-out of events to them; who holds
/// which credentials (`AccessIndex`), so that revoked ones close their connections.
public final class Hub: Sendable {
    private struct State {
        var subscribers: [String: [ObjectIdentifier: ClientOutbox]] = [:]
        var subscriptions: [ObjectIdentifier: Set<String>] = [:]
        var clients: [ObjectIdentifier: ClientOutbox] = [:]
        var access = AccessIndex<ObjectIdentifier>()
        /// The most clients connected at once since `takePeakConnections`.
        var peak = 0
    }

    private let state = Mutex(State())
    /// Bytes handed to clients since `takePublishedBytes` (for `MemoryTrimmer`).
    private let published = Atomic<Int>(0)
    /// Counted here: events sent and resyncs (see `RelayMetrics`).
    public let metrics: RelayMetrics

    public init(metrics: RelayMetrics = RelayMetrics()) {
        self.metrics = metrics
    }

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
            state.access.remove(id)
            state.clients.releaseSpareCapacity()
            state.subscriptions.releaseSpareCapacity()
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

    /// Subscribes unless access changed since `epoch` (see `AccessIndex`): nil then,
    /// and the permission must be checked again.
    public func subscribe(_ client: ClientOutbox, to issue: String, ifEpoch epoch: UInt64) -> Int? {
        let id = ObjectIdentifier(client)
        return state.withLock { state in
            guard state.access.epoch == epoch, state.clients[id] != nil else { return nil }
            state.subscribers[issue, default: [:]][id] = client
            state.subscriptions[id, default: []].insert(issue)
            return state.subscriptions[id]?.count ?? 0
        }
    }

    public func unsubscribe(_ client: ClientOutbox, from issue: String) {
        state.withLock { Self.unsubscribe(&$0, ObjectIdentifier(client), from: issue) }
    }

    private static func unsubscribe(_ state: inout State, _ id: ObjectIdentifier, from issue: String) {
        state.subscriptions[id]?.remove(issue)
        state.subscribers[issue]?[id] = nil
        if state.subscribers[issue]?.isEmpty == true { state.subscribers[issue] = nil }
    }

    // MARK: credentials

    /// Counts access changes: read it before a lookup whose answer you then record.
    public var accessEpoch: UInt64 { state.withLock { $0.access.epoch } }

    /// Records the token and user the client authenticated with, unless access
    /// changed since `epoch` (false: look the token up again).
    public func authorize(_ client: ClientOutbox, token: String, user: String, ifEpoch epoch: UInt64) -> Bool {
        let id = ObjectIdentifier(client)
        return state.withLock { state in
            state.clients[id] != nil && state.access.add(id, .init(token: token, user: user), ifEpoch: epoch)
        }
    }

    /// The token was revoked or deleted: its connections get `unauthorized` and a
    /// 1008 close, and no event from now on. Returns how many there were.
    @discardableResult
    public func revoke(token: String) -> Int {
        let clients = state.withLock { state in
            state.access.revoke(token: token).compactMap { id -> ClientOutbox? in
                for issue in state.subscriptions[id] ?? [] { Self.unsubscribe(&state, id, from: issue) }
                return state.clients[id]
            }
        }
        for client in clients {
            client.push(Frames.error("unauthorized", "These credentials were revoked; sign in again."))
            client.requestClose(.policyViolation, reason: "credentials revoked")
        }
        return clients.count
    }

    /// The user lost a membership: the issues the user's connections watch, to be
    /// checked again (`withdraw`). Subscriptions that start from now on wait for
    /// that check (the access epoch changed).
    public func membershipRemoved(user: String) -> Set<String> {
        state.withLock { state in
            state.access.membershipRemoved(user: user).reduce(into: Set<String>()) { $0.formUnion(state.subscriptions[$1] ?? []) }
        }
    }

    /// Ends the user's subscriptions to `issues` (which the user may no longer
    /// view): each of its connections is told `forbidden` for each issue it watched.
    public func withdraw(user: String, issues: Set<String>) {
        let told = state.withLock { state in
            state.access.connections(user: user).compactMap { id -> (ClientOutbox, [String])? in
                guard let client = state.clients[id] else { return nil }
                let lost = (state.subscriptions[id] ?? []).intersection(issues).sorted()
                for issue in lost { Self.unsubscribe(&state, id, from: issue) }
                return lost.isEmpty ? nil : (client, lost)
            }
        }
        for (client, issues) in told {
            client.push(contentsOf: issues.map { Frames.error("forbidden", "You can no longer watch this issue.", issueID: $0) })
        }
    }

    /// Every authenticated connection's token and user, with the issues it watches:
    /// what to check again after notifications may have been missed.
    public func accessSnapshot() -> (tokens: Set<String>, views: [(user: String, issue: String)]) {
        state.withLock { state in
            var tokens: Set<String> = []
            var views: Set<[String]> = []
            for (id, _) in state.clients {
                guard let holder = state.access.holder(of: id) else { continue }
                tokens.insert(holder.token)
                for issue in state.subscriptions[id] ?? [] { views.insert([holder.user, issue]) }
            }
            return (tokens, views.map { ($0[0], $0[1]) })
        }
    }

    /// Closes every connection of the user (when its access cannot be checked).
    public func close(user: String, _ code: WebSocketErrorCode, reason: String) {
        let clients = state.withLock { state in state.access.connections(user: user).compactMap { state.clients[$0] } }
        for client in clients { client.requestClose(code, reason: reason) }
    }

    public func isConnected(_ client: ClientOutbox) -> Bool {
        state.withLock { $0.clients[ObjectIdentifier(client)] != nil }
    }

    public func subscriptionCount(_ client: ClientOutbox) -> Int {
        state.withLock { $0.subscriptions[ObjectIdentifier(client)]?.count ?? 0 }
    }

    public func hasSubscribers(_ issue: String) -> Bool {
        state.withLock { $0.subscribers[issue] != nil }
    }

    /// Sends event frames to every subscriber of `issue`, each client's in one
    /// write. The frames' bytes are shared, not copied per client. Returns how many
    /// clients took them (`agentlive_relay_events_sent_total` grows by that many
    /// times the frames: one atomic add, whatever the number of clients).
    @discardableResult
    public func publish(_ frames: some Collection<ByteBuffer> & Sendable, to issue: String) -> Int {
        let queued = fanOut(frames, to: issue)
        if queued > 0 { metrics.eventsSent.increment(by: Int64(queued * frames.count)) }
        return queued
    }

    @discardableResult
    public func publish(_ frame: ByteBuffer, to issue: String) -> Int {
        publish(CollectionOfOne(frame), to: issue)
    }

    /// Tells the subscribers of `issue` to catch up over HTTP (an event was lost).
    public func resync(issue: String) {
        metrics.resyncs.increment(by: Int64(fanOut(CollectionOfOne(Frames.resync), to: issue)))
    }

    /// Tells every client to catch up over HTTP (notifications were missed).
    public func resyncAll() {
        let queued = allClients.reduce(0) { $0 + ($1.push(Frames.resync) ? 1 : 0) }
        metrics.resyncs.increment(by: Int64(queued))
    }

    /// The clients that queued the frames.
    private func fanOut(_ frames: some Collection<ByteBuffer> & Sendable, to issue: String) -> Int {
        guard !frames.isEmpty else { return 0 }
        let targets = state.withLock { $0.subscribers[issue].map { Array($0.values) } ?? [] }
        var queued = 0
        for client in targets where client.push(contentsOf: frames) { queued += 1 }
        if !targets.isEmpty { published.add(frames.reduce(0) { $0 + $1.readableBytes }, ordering: .relaxed) }
        return queued
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

    public func takePublishedBytes() -> Int { published.exchange(0, ordering: .relaxed) }

    /// Frames waiting in every client's outbox.
    public var queuedFrames: Int { allClients.reduce(0) { $0 + $1.queuedFrames } }

    public var connectionCount: Int { state.withLock { $0.clients.count } }

    /// Connections, and subscriptions summed over them (for a scrape: it walks
    /// every connection's set, under the lock).
    public var counts: (connections: Int, subscriptions: Int) {
        state.withLock { state in (state.clients.count, state.subscriptions.values.reduce(0) { $0 + $1.count }) }
    }

    /// The most clients connected at once since the last call (at least those now).
    public func takePeakConnections() -> Int {
        state.withLock { state in
            defer { state.peak = state.clients.count }
            return max(state.peak, state.clients.count)
        }
    }
}
