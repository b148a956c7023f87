import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// LISTENs on `agentlive_events` over one dedicated connection and turns each
/// notification into the contract's event for the subscribers of its issue.
///
/// Notifications are handled one at a time, in the order PostgreSQL delivers them
/// (commit order), so events of one task keep their order. If the LISTEN
/// connection drops, the pump reconnects with backoff; notifications sent
/// meanwhile are lost, so once listening again it tells every client to `resync`
/// (catch up over HTTP) and forgets what it had sent.
public final class EventPump: Service, Sendable {
    static let channel = "agentlive_events"

    private let settings: ConnectionSettings
    private let database: RelayDatabase
    private let hub: Hub
    private let logger: Logger
    /// How long a hole in a task's seqs may hold back later messages.
    private let gapWait: Duration
    private let listening = Atomic<Bool>(false)
    private let everListened = Atomic<Bool>(false)

    public init(settings: ConnectionSettings, database: RelayDatabase, hub: Hub, logger: Logger, gapWait: Duration = .seconds(1)) {
        self.settings = settings
        self.database = database
        self.hub = hub
        self.logger = logger
        self.gapWait = gapWait
    }

    public var isListening: Bool { listening.load(ordering: .relaxed) }

    enum Input: Sendable {
        case listening(reconnected: Bool)
        case notification(RelayNotification)
        /// Time is up for a hole in this task's seqs: send what follows it.
        case gapTimeout(issueID: String, taskID: String, through: Int64)
    }

    public func run() async throws {
        let (inputs, feed) = AsyncStream.makeStream(of: Input.self)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.listen(feed) }
            group.addTask { await self.process(inputs, feed) }
        }
    }

    private func listen(_ feed: AsyncStream<Input>.Continuation) async {
        var failures = 0
        defer { feed.finish() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: settings.configuration, id: 1, logger: logger)
                defer { Task { try? await connection.close() } }
                try await cancelWhenGracefulShutdown {
                    try await connection.listen(on: Self.channel) { notifications in
                        let reconnected = self.everListened.exchange(true, ordering: .relaxed)
                        self.listening.store(true, ordering: .relaxed)
                        self.logger.info("listening", metadata: ["channel": "\(Self.channel)"])
                        feed.yield(.listening(reconnected: reconnected))
                        for try await notification in notifications {
                            if let event = RelayNotification(payload: notification.payload) {
                                feed.yield(.notification(event))
                            }
                        }
                    }
                }
            } catch {
                if !Task.isCancelled && !Task.isShuttingDownGracefully {
                    logger.warning("LISTEN connection lost", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
            // Back off from 200 ms to 5 s while the database stays away.
            failures = listening.exchange(false, ordering: .relaxed) ? 1 : failures + 1
            guard !Task.isCancelled && !Task.isShuttingDownGracefully else { break }
            try? await Task.sleep(for: .milliseconds(min(100 << min(failures, 6), 5000)))
        }
    }

    private func process(_ inputs: AsyncStream<Input>, _ feed: AsyncStream<Input>.Continuation) async {
        var cursors = TaskCursors()
        for await input in inputs {
            switch input {
            case .listening(let reconnected):
                if reconnected {
                    cursors.reset()
                    hub.broadcast(Frames.resync)
                }
            case .notification(let notification):
                do {
                    try await deliver(notification, &cursors, feed)
                } catch {
                    logger.warning("cannot build event", metadata: ["error": "\(String(reflecting: error))"])
                    hub.publish(Frames.resync, to: notification.issueID)
                }
            case .gapTimeout(let issue, let task, let through):
                guard let last = cursors.lastSent(task: task), through > last else { continue }
                do {
                    let rows = try await database.messages(task: task, after: last, through: through)
                    let admitted = cursors.admit(task: task, seqs: rows.map(\.seq), skipGap: true)
                    publishMessages(rows.prefix(admitted.count), issue: issue)
                } catch {
                    hub.publish(Frames.resync, to: issue)
                }
            }
        }
    }

    private func deliver(
        _ notification: RelayNotification, _ cursors: inout TaskCursors, _ feed: AsyncStream<Input>.Continuation
    ) async throws {
        switch notification {
        case .messages(let issue, let task, let from, let to):
            guard let after = cursors.fetchAfter(task: task, fromSeq: from, toSeq: to) else { return }
            guard hub.hasSubscribers(issue) else {
                // Nobody to send to: count them as sent, so a later subscriber does
                // not wait on a hole that is only the messages it was not there for.
                _ = cursors.admit(task: task, seqs: [to], skipGap: true)
                return
            }
            let rows = try await database.messages(task: task, after: after, through: to)
            let admitted = cursors.admit(task: task, seqs: rows.map(\.seq))
            publishMessages(rows.prefix(admitted.count), issue: issue)
            if admitted.gap {
                let wait = gapWait
                Task {
                    try? await Task.sleep(for: wait)
                    feed.yield(.gapTimeout(issueID: issue, taskID: task, through: to))
                }
            }
        case .task(let event, let issue, let task):
            if ["task:completed", "task:failed", "task:cancelled"].contains(event) { cursors.forget(task: task) }
            guard hub.hasSubscribers(issue), let payload = try await database.taskPayload(task: task) else { return }
            hub.publish(Frames.event(event, payloadJSON: payload), to: issue)
        case .progress(let issue, let task, let summary, let step, let total):
            guard hub.hasSubscribers(issue) else { return }
            let payload = ProgressPayload(taskID: task, issueID: issue, summary: summary, step: step, total: total)
            hub.publish(Frames.event("task:progress", payloadJSON: Frames.json(payload)), to: issue)
        case .comment(let issue, let comment):
            guard hub.hasSubscribers(issue), let payload = try await database.commentPayload(comment: comment) else { return }
            hub.publish(Frames.event("comment:created", payloadJSON: payload), to: issue)
        }
    }

    private func publishMessages(_ rows: ArraySlice<(seq: Int64, json: String)>, issue: String) {
        for row in rows { hub.publish(Frames.event("task:message", payloadJSON: row.json), to: issue) }
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
