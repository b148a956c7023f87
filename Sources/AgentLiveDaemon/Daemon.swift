import AgentLiveWire
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The daemon: registers with the server, heartbeats, claims queued tasks for
/// its agent and runs up to `maxTasks` of them at once. SIGINT/SIGTERM stop it
/// cleanly: no more claims, running agents are stopped and their tasks failed.
public struct Daemon: Sendable {
    public struct Settings: Sendable {
        public var daemonID: String
        public var agentID: String
        public var maxTasks = 1
        public var once = false
        public var heartbeatInterval: Duration = .seconds(10)
        public var pollInterval: Duration = .seconds(1)
        public var runtimes: [RuntimeInfo] = []
        /// A new id, saved for next time, when the server says this one belongs to
        /// another token (409 daemon_id_taken): DaemonIdentity.renew in the daemon.
        public var newDaemonID: @Sendable () throws -> String = { UUID().uuidString.lowercased() }

        public init(daemonID: String, agentID: String) {
            self.daemonID = daemonID
            self.agentID = agentID
        }
    }

    var settings: Settings
    var api: any DaemonAPI
    var runner: TaskRunner
    var logger: Logger

    public init(
        settings: Settings, api: any DaemonAPI, runtime: any AgentRuntime, workRoot: URL,
        redactor: Redactor, logger: Logger
    ) {
        self.settings = settings
        self.api = api
        self.logger = logger
        runner = TaskRunner(
            api: api, runtime: runtime, workRoot: workRoot, sanitizer: MessageSanitizer(redactor: redactor), logger: logger)
    }

    public func run() async throws {
        let daemonID = DaemonID(try await register(settings.daemonID))
        logger.info("registered", metadata: ["daemon": "\(daemonID.value)", "agent": "\(settings.agentID)"])

        let running = RunningTasks()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await heartbeats(running, daemonID) }
            group.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    logger.info("stopping", metadata: ["signal": "\(signal)", "tasks": "\(running.count)"])
                    running.stopAll(.daemonStopping)
                    return
                }
            }
            await claims(running, daemonID)
            await running.waitForAll()
            group.cancelAll()
        }
        logger.info("stopped")
    }

    /// Registers `id`, retrying while the server is unreachable; when another token
    /// holds that id in the workspace, registers a new one. Returns the id registered.
    private func register(_ id: String) async throws -> String {
        var id = id
        var renewals = 0
        while true {
            let registration = DaemonRegisterPayload(daemonID: id, agentID: settings.agentID, runtimes: settings.runtimes)
            do {
                try await withRetry(onRetry: { logger.warning("cannot reach the server: \($0)") }) { () throws(DaemonAPIError) in
                    try await api.register(registration)
                }
                return id
            } catch DaemonAPIError.rejected(409, "daemon_id_taken", _) where renewals < 5 {
                renewals += 1
                let new = try settings.newDaemonID()
                logger.warning(
                    "this daemon id belongs to another token in the workspace; registering a new one",
                    metadata: ["taken": "\(id)", "daemon": "\(new)"])
                id = new
            }
        }
    }

    /// Claims tasks while there is room, until stopped (or after one with `once`).
    private func claims(_ running: RunningTasks, _ daemonID: DaemonID) async {
        var failures = 0
        while !running.isStopping {
            guard running.count < settings.maxTasks else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                if let task = try await api.claim(ClaimRequest(daemonID: daemonID.value, agentID: settings.agentID)) {
                    failures = 0
                    running.start(task) { stop in await runner.run(task, stop: stop) }
                    if settings.once { return }
                    continue
                }
                failures = 0
            } catch .rejected(404, "daemon_not_found", _) {
                // The server forgot this daemon (an operator purged it): register again.
                if let id = try? await register(daemonID.value) { daemonID.value = id }
            } catch {
                failures += 1
                logger.warning("cannot claim: \(error)")
            }
            try? await Task.sleep(for: settings.pollInterval * Double(1 << min(failures, 3)))
        }
    }

    /// Tells the server the daemon lives and which tasks it runs; stops the tasks
    /// the server says were cancelled.
    private func heartbeats(_ running: RunningTasks, _ daemonID: DaemonID) async {
        while !Task.isCancelled {
            let payload = HeartbeatPayload(
                daemonID: daemonID.value, agentID: settings.agentID, currentTasks: .ids(running.ids))
            do {
                for id in try await api.heartbeat(payload) {
                    logger.info("cancelled on the server", metadata: ["task": "\(id)"])
                    running.stop(id, .cancelledByServer)
                }
            } catch {
                logger.warning("heartbeat failed: \(error)")
            }
            try? await Task.sleep(for: settings.heartbeatInterval)
        }
    }
}

/// The id the daemon registered with, which a later registration may change.
final class DaemonID: Sendable {
    private let id: Mutex<String>
    init(_ value: String) { id = Mutex(value) }
    var value: String {
        get { id.withLock { $0 } }
        set { id.withLock { $0 = newValue } }
    }
}

/// The tasks this daemon runs, each in its own Swift task so it can be stopped alone.
final class RunningTasks: Sendable {
    private struct Entry {
        var stop: StopSignal
        var task: Task<Void, Never>
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let stopping = Atomic<Bool>(false)

    /// Set by `stopAll(.daemonStopping)`: no new tasks.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    var count: Int { entries.withLock { $0.count } }
    var ids: [String] { entries.withLock { Array($0.keys).sorted() } }

    func start(_ dispatch: TaskDispatchPayload, _ body: @escaping @Sendable (StopSignal) async -> Void) {
        let stop = StopSignal()
        entries.withLock { entries in
            let task = Task {
                await body(stop)
                self.entries.withLock { _ = $0.removeValue(forKey: dispatch.taskID) }
            }
            entries[dispatch.taskID] = Entry(stop: stop, task: task)
        }
    }

    func stop(_ id: String, _ reason: StopReason) {
        guard let entry = entries.withLock({ $0[id] }) else { return }
        entry.stop.set(reason)
        entry.task.cancel()
    }

    func stopAll(_ reason: StopReason) {
        if reason == .daemonStopping { stopping.store(true, ordering: .relaxed) }
        for id in ids { stop(id, reason) }
    }

    func waitForAll() async {
        while let task = entries.withLock({ $0.values.first?.task }) { await task.value }
    }
}
