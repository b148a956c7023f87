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

    enum Input: Sendable {
        case listening(reconnected: Bool)
        /// With the instant the LISTEN loop took it (the start of its lag, see `RelayMetrics.recordLag`).
        case notification(RelayNotification, received: ContinuousClock.Instant)
        /// Time is up for a hole in this task's seqs: send what follows it.
        case gapTimeout(issueID: String, taskID: String, through: Int64)
        /// Check every connection's access again (after a lost LISTEN connection).
        case recheckAccess(attempt: Int)
    }

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

    /// Takes whatever arrived since the last round. Runs of message notifications
    /// are fetched with one query; anything else is handled in its place, so a
    /// task's state events still follow its messages.
    private func process(_ inbox: Mailbox<Input>) async {
        var cursors = TaskCursors()
        while let inputs = await inbox.next() {
            var run: [MessageRange] = []
            for input in inputs {
                if case .notification(.messages(let issue, let task, let from, let to, let documents), let received) = input {
                    run.append(MessageRange(issueID: issue, taskID: task, after: from - 1, through: to, documents: documents,
                                            received: received))
                    continue
                }
                await deliver(run, &cursors, inbox)
                run = []
                switch input {
                case .listening(let reconnected):
                    if reconnected {
                        metrics.listenReconnects.increment()
                        cursors.reset()
                        hub.resyncAll()
                        await recheckAccess(attempt: 1, inbox)
                    }
                case .recheckAccess(let attempt):
                    await recheckAccess(attempt: attempt, inbox)
                case .notification(let notification, let received):
                    do {
                        try await deliver(notification, received: received, &cursors, inbox)
                    } catch {
                        logger.warning("cannot build event", metadata: ["error": "\(String(reflecting: error))"])
                        if let issue = notification.issueID { hub.resync(issue: issue) }
                    }
                case .gapTimeout(let issue, let task, let through):
                    guard let last = cursors.lastSent(task: task), through > last else { continue }
                    await fetchAndPublish([MessageRange(issueID: issue, taskID: task, after: last, through: through)],
                                          &cursors, inbox, skipGap: true)
                }
            }
            await deliver(run, &cursors, inbox)
        }
    }

    /// Message notifications: one range per task (a task's notifications in one
    /// round are merged), minus what was sent already.
    private func deliver(_ notifications: [MessageRange], _ cursors: inout TaskCursors, _ inbox: Mailbox<Input>) async {
        var ranges: [MessageRange] = []
        var index: [String: Int] = [:]
        for note in notifications {
            guard let after = cursors.fetchAfter(task: note.taskID, fromSeq: note.after + 1, toSeq: note.through) else { continue }
            if let i = index[note.taskID] {
                ranges[i].after = min(ranges[i].after, after)
                ranges[i].through = max(ranges[i].through, note.through)
                ranges[i].rows += note.rows
                if let received = note.received { ranges[i].received = min(ranges[i].received ?? received, received) }
            } else {
                index[note.taskID] = ranges.count
                ranges.append(MessageRange(issueID: note.issueID, taskID: note.taskID, after: after, through: note.through,
                                           rows: note.rows, received: note.received))
            }
        }
        let (watched, unwatched) = ranges.reduce(into: ([MessageRange](), [MessageRange]())) {
            if hub.hasSubscribers($1.issueID) { $0.0.append($1) } else { $0.1.append($1) }
        }
        // Nobody to send to: count them as sent, so a later subscriber does not wait
        // on a hole that is only the messages it was not there for.
        for range in unwatched { _ = cursors.admit(task: range.taskID, seqs: [range.through], after: range.after, skipGap: true) }
        await fetchAndPublish(watched, &cursors, inbox, skipGap: false)
    }

    /// Publishes each range's messages, reading those that did not come inline
    /// (with one query for all).
    private func fetchAndPublish(
        _ ranges: [MessageRange], _ cursors: inout TaskCursors, _ inbox: Mailbox<Input>, skipGap: Bool
    ) async {
        var ranges = ranges.map { $0.completed() }
        let missing = ranges.filter { $0.rows.isEmpty }
        if !missing.isEmpty {
            do {
                let fetched = try await database.messages(missing.map { ($0.taskID, $0.after, $0.through) })
                for i in ranges.indices where ranges[i].rows.isEmpty { ranges[i].rows = fetched[ranges[i].taskID] ?? [] }
            } catch {
                logger.warning("cannot read messages", metadata: ["error": "\(String(reflecting: error))"])
                for issue in Set(missing.map(\.issueID)) { hub.resync(issue: issue) }
            }
        }
        for range in ranges {
            let found = range.rows
            let admitted = cursors.admit(task: range.taskID, seqs: found.map(\.seq), after: range.after, skipGap: skipGap)
            let reached = hub.publish(found.prefix(admitted.count).map { Frames.event("task:message", payloadJSON: $0.json) },
                                      to: range.issueID)
            if reached > 0, let received = range.received { metrics.recordLag(since: received) }
            if admitted.gap {
                let wait = gapWait
                Task {
                    try? await Task.sleep(for: wait)
                    inbox.send(.gapTimeout(issueID: range.issueID, taskID: range.taskID, through: range.through))
                }
            }
        }
    }

    /// Every other notification: one event, read from the database when needed.
    private func deliver(
        _ notification: RelayNotification, received: ContinuousClock.Instant, _ cursors: inout TaskCursors,
        _ inbox: Mailbox<Input>
    ) async throws {
        // Publishes one event, and records its lag if it reached anyone.
        func publish(_ frame: ByteBuffer, to issue: String) {
            if hub.publish(frame, to: issue) > 0 { metrics.recordLag(since: received) }
        }
        switch notification {
        case .messages(let issue, let task, let from, let to, let documents):  // usually taken in runs, above
            await deliver([MessageRange(issueID: issue, taskID: task, after: from - 1, through: to, documents: documents,
                                        received: received)],
                          &cursors, inbox)
        case .task(let event, let issue, let task):
            if ["task:completed", "task:failed", "task:cancelled"].contains(event) { cursors.forget(task: task) }
            guard hub.hasSubscribers(issue), let payload = try await database.taskPayload(task: task) else { return }
            publish(Frames.event(event, payloadJSON: payload), to: issue)
        case .progress(let issue, let task, let summary, let step, let total):
            guard hub.hasSubscribers(issue) else { return }
            let payload = ProgressPayload(taskID: task, issueID: issue, summary: summary, step: step, total: total)
            publish(Frames.event("task:progress", payloadJSON: Frames.json(payload)), to: issue)
        case .comment(let issue, let comment):
            guard hub.hasSubscribers(issue), let payload = try await database.commentPayload(comment: comment) else { return }
            publish(Frames.event("comment:created", payloadJSON: payload), to: issue)
        case .tokenRevoked(let token):
            let closed = hub.revoke(token: token)
            if closed > 0 { logger.info("closed connections of a revoked token", metadata: ["connections": "\(closed)"]) }
        case .memberRemoved(_, let user):
            // Handled in its place: the workspace's events after this one go only to
            // the subscriptions that are still allowed.
            let issues = hub.membershipRemoved(user: user)
            guard !issues.isEmpty else { return }
            do {
                hub.withdraw(user: user, issues: try await database.notViewable(user: user, issues: issues.sorted()))
            } catch {
                logger.warning("cannot check a removed member's subscriptions", metadata: ["error": "\(String(reflecting: error))"])
                hub.close(user: user, ClientOutbox.tryAgainLater, reason: "access could not be checked")
            }
        }
    }

    static let recheckAttempts = 5

    /// After a lost LISTEN connection, revocations and removed memberships may have
    /// been missed: every open connection's token and subscriptions are checked
    /// again (two queries). A failed check is tried again a second later (the query
    /// connections may still be reconnecting); after `recheckAttempts` failures the
    /// connections are closed with 1013: they reconnect and are checked then.
    private func recheckAccess(attempt: Int, _ inbox: Mailbox<Input>) async {
        let (tokens, views) = hub.accessSnapshot()
        guard !tokens.isEmpty else { return }
        do {
            for token in try await database.deadTokens(tokens.sorted()) { hub.revoke(token: token) }
            guard !views.isEmpty else { return }
            let lost = try await database.lostViews(views)
            for (user, issues) in Dictionary(grouping: lost, by: \.user) { hub.withdraw(user: user, issues: Set(issues.map(\.issue))) }
        } catch {
            logger.warning("cannot check access after reconnecting",
                           metadata: ["attempt": "\(attempt)", "error": "\(String(reflecting: error))"])
            guard attempt < Self.recheckAttempts else {
                return hub.closeAll(ClientOutbox.tryAgainLater, reason: "access could not be checked")
            }
            Task {
                try? await Task.sleep(for: .seconds(1))
                inbox.send(.recheckAccess(attempt: attempt + 1))
            }
        }
    }
}

/// Messages after < seq <= through of one task, and those of them at hand.
struct MessageRange {
    var issueID: String
    var taskID: String
    var after: Int64
    var through: Int64
    var rows: [(seq: Int64, json: String)] = []
    /// When the earliest notification of the range arrived; nil for a range sent
    /// after a gap wait (its lag is not recorded).
    var received: ContinuousClock.Instant?

    init(issueID: String, taskID: String, after: Int64, through: Int64, rows: [(seq: Int64, json: String)] = [],
         received: ContinuousClock.Instant? = nil) {
        (self.issueID, self.taskID, self.after, self.through, self.rows) = (issueID, taskID, after, through, rows)
        self.received = received
    }

    /// A notification's range, with its inlined documents (seqs from after + 1).
    init(issueID: String, taskID: String, after: Int64, through: Int64, documents: [String],
         received: ContinuousClock.Instant? = nil) {
        self.init(issueID: issueID, taskID: taskID, after: after, through: through,
                  rows: documents.enumerated().map { (after + 1 + Int64($0.offset), $0.element) }, received: received)
    }

    /// Keeps the rows only if they are the whole range, in order; otherwise none,
    /// and the range is read from the database.
    func completed() -> MessageRange {
        var range = self
        range.rows = rows.filter { $0.seq > after }.sorted { $0.seq < $1.seq }
        let whole = range.rows.count == through - after
            && range.rows.enumerated().allSatisfy { $0.element.seq == after + 1 + Int64($0.offset) }
        if !whole { range.rows = [] }
        return range
    }
}

/// TaskProgressPayload, with the issue it belongs to.
struct ProgressPayload: Encodable {
    var taskID: String
    var issueID: String
    var summary: String?
    var step: Int?
    var total: Int?

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", issueID = "issue_id", summary, step, total
    }
}
