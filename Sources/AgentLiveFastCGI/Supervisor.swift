import CFastCGI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Keeps N worker processes serving one listening socket: starts them with the
/// socket as their fd 0 (as spawn-fcgi and systemd hand it over), starts a new
/// one when one dies, and on SIGTERM/SIGINT stops them all gracefully. SIGHUP
/// (`systemctl reload`) starts a fresh set of workers from the executable's path,
/// so a deployed binary takes over, while the old ones finish their request.
///
/// Signals are blocked and taken with sigtimedwait, so all the logic runs in one
/// plain loop rather than in signal handlers.
public struct Supervisor {
    public var workers: Int
    public var listenFD: Int32
    /// A worker's argv: its process title (argv[0]) and its arguments.
    public var workerCommand: [String]
    /// Workers run this file: spawned by its path, they are named after it in
    /// ps, top and pgrep (through /proc/self/exe they would be `exe`).
    public var executable: String = Supervisor.currentExecutable()
    public var gracePeriod: Duration = .seconds(10)
    public var logger: Logger
    /// The scoreboard workers count in (--metrics-listen): each worker gets a
    /// slot and the scoreboard's descriptor on its command line (`WorkerCommandLine`).
    public var metrics: PoolMetrics?

    public init(workers: Int, listenFD: Int32, workerCommand: [String], logger: Logger) {
        self.workers = workers
        self.listenFD = listenFD
        self.workerCommand = workerCommand
        self.logger = logger
    }

    /// Environment variable that tells a worker its supervisor's pid.
    public static let parentVariable = "AGENTLIVE_SUPERVISOR_PID"

    /// Called by a worker first thing: die with the supervisor rather than linger.
    public static func bindToSupervisor() {
        guard let text = ProcessInfo.processInfo.environment[parentVariable], let parent = pid_t(text) else { return }
        agentlive_exit_with_parent()
        if getppid() != parent { exit(0) }  // the supervisor died before we got here
    }

    public func run() -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        var state = PoolState(size: workers)
        var stopDeadline: ContinuousClock.Instant?
        logger.info("supervisor started", metadata: ["pid": "\(getpid())", "workers": "\(workers)"])

        while true {
            let now = ContinuousClock.now
            for _ in 0..<state.workersToStart(now: now) {
                if let pid = spawnWorker() {
                    state.started(pid, at: now)
                } else {
                    state.spawnFailed(at: now)
                }
            }
            if stopDeadline != nil, state.running.isEmpty { break }
            if let deadline = stopDeadline, now >= deadline {
                logger.warning("workers did not stop in time; killing them")
                state.running.keys.forEach { kill($0, SIGKILL) }
            }

            var info = siginfo_t()
            var timeout = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            let signal = sigtimedwait(&signals, &info, &timeout)
            switch signal {
            case SIGCHLD:
                reapChildren(&state)
            case SIGTERM, SIGINT:
                guard stopDeadline == nil else { continue }
                logger.info("stopping workers")
                state.stopping = true
                stopDeadline = .now + gracePeriod
                state.running.keys.forEach { kill($0, SIGTERM) }
            case SIGHUP:
                guard stopDeadline == nil else { continue }
                logger.info("replacing workers")
                // Their replacements start at the top of the loop.
                state.retireAll().forEach { kill($0, SIGTERM) }
            default:
                reapChildren(&state)  // a missed SIGCHLD coalesced with another
            }
        }
        logger.info("supervisor stopped")
        return 0
    }

    private func reapChildren(_ state: inout PoolState) {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return }
            let exitStatus = (status & 0x7f) == 0 ? "exit \((status >> 8) & 0xff)" : "signal \(status & 0x7f)"
            let expected = state.stopping || state.retiring.contains(pid)
            logger.log(
                level: expected ? .info : .warning, "worker exited",
                metadata: ["pid": "\(pid)", "status": "\(exitStatus)"])
            metrics?.exited(pid, restarted: !expected && state.running[pid] != nil)
            state.exited(pid, at: .now)
        }
    }

    private func spawnWorker() -> pid_t? {
        guard let metrics else { return spawnWorker(arguments: workerCommand) }
        guard let slot = metrics.takeSlot() else {
            logger.warning("every metrics scoreboard slot is taken: this worker is not counted")
            return spawnWorker(arguments: workerCommand)
        }
        let scoreboard = WorkerCommandLine.Scoreboard(fd: metrics.scoreboard.fd, slot: slot)
        let pid = spawnWorker(arguments: WorkerCommandLine(command: workerCommand, scoreboard: scoreboard).arguments)
        metrics.spawned(pid, slot: slot)
        return pid
    }

    private func spawnWorker(arguments: [String]) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if listenFD != 0 { posix_spawn_file_actions_adddup2(&actions, listenFD, 0) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The stop signals stay blocked until the worker's accept loop takes them
        // (ShutdownSignal), so one that comes while it starts ends it gracefully.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &stopSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var environment = ProcessInfo.processInfo.environment
        environment[Self.parentVariable] = String(getpid())
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let path = access(executable, X_OK) == 0 ? executable : "/proc/self/exe"
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else {
            logger.error("cannot start a worker: \(String(cString: strerror(result)))")
            return nil
        }
        return pid
    }

    /// The running executable's path, or /proc/self/exe when it cannot be read.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "/proc/self/exe" }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The pool's bookkeeping, apart from processes and signals so it can be tested.
/// A worker that dies within a second of starting is restarted after a pause, so
/// a crash at start-up (a bad configuration) does not become a fork loop.
/// Retiring workers (told to stop by a reload) still run but no longer count
/// towards the pool's size, so their replacements start at once.
struct PoolState {
    var size: Int
    var running: [pid_t: ContinuousClock.Instant] = [:]
    private(set) var retiring: Set<pid_t> = []
    var stopping = false
    private(set) var notBefore: ContinuousClock.Instant?

    static let crashWindow: Duration = .seconds(1)
    static let crashPause: Duration = .seconds(1)

    init(size: Int) {
        self.size = size
    }

    func workersToStart(now: ContinuousClock.Instant) -> Int {
        guard !stopping else { return 0 }
        if let notBefore, now < notBefore { return 0 }
        return max(0, size - (running.count - retiring.count))
    }

    /// Marks every running worker that is not retiring yet as retiring; returns them.
    mutating func retireAll() -> [pid_t] {
        let current = running.keys.filter { !retiring.contains($0) }
        retiring.formUnion(current)
        return current
    }

    mutating func started(_ pid: pid_t, at now: ContinuousClock.Instant) {
        running[pid] = now
    }

    mutating func spawnFailed(at now: ContinuousClock.Instant) {
        notBefore = now + Self.crashPause
    }

    mutating func exited(_ pid: pid_t, at now: ContinuousClock.Instant) {
        guard let startedAt = running.removeValue(forKey: pid) else { return }
        // A worker told to stop did not crash, however young.
        if retiring.remove(pid) != nil { return }
        if now - startedAt < Self.crashWindow { notBefore = now + Self.crashPause }
    }
}
