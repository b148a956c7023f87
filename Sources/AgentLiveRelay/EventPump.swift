import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// LISTENs on `agentlive_events` over one dedicated connection and turns each
/// notification into the contract's event for the subscribers of its issue.
///
/// Notifications are handled in the order PostgreSQL delivers them (commit order),
/// so events of one task keep their order; those that arrive together are handled
/// together, with one query for all their messages. If the LISTEN
/// connection drops, the pump reconnects with backoff, walking the connection
/// string's hosts again (after a failover: to the new primary); notifications sent
/// meanwhile are lost, so once listening again it tells every client to `resync`
/// (catch up over HTTP) and forgets what it had sent.
///
/// The sequencing is `EventPumpStateMachine`'s; the pump does the I/O it asks
/// for: the LISTEN loop, queries, publishing to the hub, timers.
public final class EventPump: Service, Sendable {
    static let channel = "agentlive_events"

    private let connector: DatabaseConnector
    private let database: RelayDatabase
    private let hub: Hub
    private var metrics: RelayMetrics { hub.metrics }
    private let logger: Logger
    /// How long a hole in a task's seqs may hold back later messages.
    private let gapWait: Duration
    private let listening = Atomic<Bool>(false)
    private let everListened = Atomic<Bool>(false)

    init(connector: DatabaseConnector, database: RelayDatabase, hub: Hub, logger: Logger, gapWait: Duration = .seconds(1)) {
        self.connector = connector
        self.database = database
        self.hub = hub
        self.logger = logger
        self.gapWait = gapWait
    }

    public var isListening: Bool { listening.load(ordering: .relaxed) }

    typealias Input = EventPumpStateMachine.Input
    typealias Action = EventPumpStateMachine.Action

    public func run() async throws {
        let inbox = Mailbox<Input>()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.listen(inbox) }
            group.addTask { await self.process(inbox) }
        }
    }

    private func listen(_ inbox: Mailbox<Input>) async {
        var failures = 0
        defer { inbox.finish() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let (connection, server) = try await connector.connect(id: 1, logger: logger)
                defer { Task { try? await connection.close() } }
                try await cancelWhenGracefulShutdown {
                    try await connection.listen(on: Self.channel) { notifications in
                        let reconnected = self.everListened.exchange(true, ordering: .relaxed)
                        self.listening.store(true, ordering: .relaxed)
                        self.logger.info("listening", metadata: ["channel": "\(Self.channel)", "server": "\(server)"])
                        inbox.send(.listening(reconnected: reconnected))
                        for try await notification in notifications {
                            let received = ContinuousClock.now
                            if let event = RelayNotification(payload: notification.payload) {
                                inbox.send(.notification(event, received: received))
                            }
                        }
                    }
                }
            } catch {
                if !Task.isCancelled && !Task.isShuttingDownGracefully {
                    logger.warning("LISTEN connection failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            // Back off from 200 ms to 5 s while the database stays away.
            failures = listening.exchange(false, ordering: .relaxed) ? 1 : failures + 1
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { break }
            try? await Task.sleep(for: .milliseconds(min(100 << min(failures, 6), 5000)))
        }
    }

    /// Runs the sequencing (`EventPumpStateMachine`) on whatever arrived since the
    /// last round, carrying out its actions one by one.
    private func process(_ inbox: Mailbox<Input>) async {
        var machine = EventPumpStateMachine(gapWait: gapWait)
        while let inputs = await inbox.next() {
            var action = machine.received(inputs, watched: hub.hasSubscribers)
            while let next = await perform(action, &machine, inbox) { action = next }
        }
    }

    /// Carries out one action; returns the machine's next, or nil when it waits for inputs.
    private func perform(_ action: Action, _ machine: inout EventPumpStateMachine, _ inbox: Mailbox<Input>) async -> Action? {
        func watched(_ issue: String) -> Bool { hub.hasSubscribers(issue) }
        switch action {
        case .waitForInputs:
            return nil
        case .fetchMessages(let queries):
            do {
                let rows = try await database.messages(queries.map { ($0.taskID, $0.after, $0.through) })
                return machine.messagesFetched(rows, watched: watched)
            } catch {
                logger.warning("cannot read messages", metadata: ["error": "\(String(reflecting: error))"])
                return machine.messagesFetchFailed(watched: watched)
            }
        case .fetchPayload(let row):
            do {
                let payload = switch row {
                case .task(let id): try await database.taskPayload(task: id)
                case .comment(let id): try await database.commentPayload(comment: id)
                }
                return machine.payloadFetched(payload, watched: watched)
            } catch {
                logger.warning("cannot build event", metadata: ["error": "\(String(reflecting: error))"])
                return machine.payloadFetchFailed(watched: watched)
            }
        case .publish(let frames, let issue, let lagSince):
            if hub.publish(frames, to: issue) > 0, let lagSince { metrics.recordLag(since: lagSince) }
        case .resync(let issue):
            hub.resync(issue: issue)
        case .resyncAll:
            metrics.listenReconnects.increment()
            hub.resyncAll()
        case .revoke(let token):
            let closed = hub.revoke(token: token)
            if closed > 0 { logger.info("closed connections of a revoked token", metadata: ["connections": "\(closed)"]) }
        case .checkRemovedMember(let user):
            let done = await succeeds("cannot check a removed member's subscriptions") { try await withdrawRemovedMember(user) }
            return machine.removedMemberChecked(succeeded: done, watched: watched)
        case .recheckAccess(let attempt):
            let done = await succeeds("cannot check access after reconnecting", ["attempt": "\(attempt)"]) {
                try await recheckAccess()
            }
            return machine.accessRechecked(succeeded: done, watched: watched)
        case .closeConnections(let user, let reason):
            hub.close(user: user, ClientOutbox.tryAgainLater, reason: reason)
        case .closeAllConnections(let reason):
            hub.closeAll(ClientOutbox.tryAgainLater, reason: reason)
        case .schedule(let input, let delay):
            Task {
                try? await Task.sleep(for: delay)
                inbox.send(input)
            }
        }
        return machine.next(watched: watched)
    }

    /// Whether `check` ran through; why not is logged.
    private func succeeds(_ warning: Logger.Message, _ metadata: Logger.Metadata = [:],
                          _ check: () async throws -> Void) async -> Bool {
        do {
            try await check()
            return true
        } catch {
            logger.warning(warning, metadata: metadata.merging(["error": "\(String(reflecting: error))"]) { $1 })
            return false
        }
    }

    /// The subscriptions of a removed member's connections that the user may no
    /// longer see are withdrawn.
    private func withdrawRemovedMember(_ user: String) async throws {
        let issues = hub.membershipRemoved(user: user)
        guard !issues.isEmpty else { return }
        hub.withdraw(user: user, issues: try await database.notViewable(user: user, issues: issues.sorted()))
    }

    /// After a lost LISTEN connection, revocations and removed memberships may have
    /// been missed: every open connection's token and subscriptions are checked
    /// again (two queries).
    private func recheckAccess() async throws {
        let (tokens, views) = hub.accessSnapshot()
        guard !tokens.isEmpty else { return }
        for token in try await database.deadTokens(tokens.sorted()) { hub.revoke(token: token) }
        guard !views.isEmpty else { return }
        let lost = try await database.lostViews(views)
        for (user, issues) in Dictionary(grouping: lost, by: \.user) { hub.withdraw(user: user, issues: Set(issues.map(\.issue))) }
    }
}
