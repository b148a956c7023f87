import AgentLiveAPI
import AgentLiveFastCGI
import AgentLivePostgres
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc  // mode_t, which FoundationEssentials does not re-export
#endif
import Logging

struct AgentLiveAPICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentlive-api",
        abstract: "AgentLive's REST API as FastCGI workers, and its database migrations.",
        discussion: EnvironmentHelp.text,
        subcommands: [Serve.self, Migrate.self, Routes.self],
        defaultSubcommand: Serve.self)
}

/// Settings every subcommand reads from the environment.
struct Environment {
    var values = ProcessInfo.processInfo.environment

    /// A libpq connection string or URI; empty means libpq's own defaults (PG* variables).
    var databaseURL: String { values["AGENTLIVE_DATABASE_URL"] ?? "" }

    /// AGENTLIVE_LOG_FORMAT=json: one JSON object a line, for log shippers.
    var logsJSON: Bool { values["AGENTLIVE_LOG_FORMAT"] == "json" }

    func logger(_ label: String) -> Logger {
        let json = logsJSON
        var logger = Logger(label: label) { json ? JSONLogHandler(label: $0) as any LogHandler : StreamLogHandler.standardError(label: $0) }
        logger.logLevel = values["AGENTLIVE_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
        return logger
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the API over FastCGI.",
        discussion: """
            With --listen, opens the socket and keeps --workers processes on it. Without it, \
            the listening socket is fd 0 (spawn-fcgi, systemd's StandardInput=socket): one \
            worker, or a pool with --workers above 1.

            A pool's supervisor shows in ps as "agentlive-api: supervisor", its workers as \
            "agentlive-api: worker". SIGHUP to the supervisor (systemctl reload) starts fresh \
            workers from the installed executable; SIGTERM stops the pool. Either way a \
            worker finishes the request it accepted.

            \(EnvironmentHelp.text)
            """)

    @Option(help: "Unix socket path, or host:port, to listen on.")
    var listen: String?

    @Option(help: "Number of worker processes.")
    var workers: Int = 1

    @Option(help: "Owner of a Unix socket (user name or uid; default: the user running the command).")
    var socketOwner: String?

    @Option(help: "Group of a Unix socket (group name or gid), e.g. nginx's www-data (default: the user's group).")
    var socketGroup: String?

    @Option(help: "Permissions of a Unix socket, in octal: owner and group may connect, nobody else.")
    var socketMode: String = "0660"

    @Option(help: "Listen backlog.")
    var backlog: Int32 = 1024

    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics of the worker pool at GET /metrics on this loopback host:port, e.g. 127.0.0.1:9464.",
        valueName: "host:port"))
    var metricsListen: String?

    @Flag(help: "Allow --metrics-listen on an address other than loopback (metrics are then open to the network).")
    var metricsAllowNonLoopback = false

    // A worker's slot of its supervisor's scoreboard (set by the supervisor).
    @Option(name: .customLong("scoreboard-fd"), help: .hidden) var scoreboardFD: Int32?
    @Option(name: .customLong("scoreboard-slot"), help: .hidden) var scoreboardSlot: Int?

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be 1...256") }
        if metricsListen != nil {
            guard listen != nil || workers > 1 else {
                throw ValidationError("--metrics-listen needs a pool: --listen, or --workers above 1")
            }
            _ = try metricsAddress()
        }
        do {
            _ = try permissions()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func metricsAddress() throws -> MetricsAddress? {
        guard let metricsListen else { return nil }
        do {
            return try MetricsAddress(metricsListen, allowNonLoopback: metricsAllowNonLoopback)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func permissions() throws(ListenSocketError) -> SocketPermissions {
        try SocketPermissions(owner: socketOwner, group: socketGroup, mode: socketMode)
    }

    func run() throws {
        let environment = Environment()
        let logger = environment.logger("agentlive.api")
        let workerCommand = Self.workerCommand
        if let listen {
            let permissions = try permissions()
            let fd: Int32
            do {
                fd = try ListenSocket.open(listen, permissions: permissions, backlog: backlog)
            } catch {
                logger.critical("\(error)")
                throw ExitCode.failure
            }
            logger.info("listening", metadata: ["address": "\(listen)", "mode": "\(String(permissions.mode, radix: 8))"])
            if permissions.isWorldWritable {
                logger.warning("every local user may connect to \(listen) (--socket-mode \(socketMode))")
            }
            ProcessTitle.set(Title.supervisor, name: Title.name)
            throw ExitCode(try supervisor(listenFD: fd, workerCommand: workerCommand, logger: logger).run())
        }
        if workers > 1 {
            ProcessTitle.set(Title.supervisor, name: Title.name)
            throw ExitCode(try supervisor(listenFD: 0, workerCommand: workerCommand, logger: logger).run())
        }
        Self.serveAsWorker(environment: environment, logger: logger, scoreboard: scoreboardFD.flatMap { fd in
            scoreboardSlot.map { WorkerCommandLine.Scoreboard(fd: fd, slot: $0) }
        })
    }

    /// How a supervisor starts its workers: the worker's process title as argv[0]
    /// (the executable is spawned by its path), then this subcommand for one worker.
    static let workerCommand = [Title.worker, "serve", "--workers", "1"]

    /// One worker on the FastCGI socket at fd 0, counted in the scoreboard slot when given one.
    static func serveAsWorker(environment: Environment, logger: Logger, scoreboard: WorkerCommandLine.Scoreboard?) {
        Supervisor.bindToSupervisor()
        ProcessTitle.set(Title.worker, name: Title.name)
        let configuration = APIConfiguration(environment: environment.values)
        let database = LibPQConnection(conninfo: environment.databaseURL)
        let api = AgentLiveAPI(configuration: configuration, database: database, logger: logger)
        let slot = scoreboard.flatMap { attachSlot(fd: $0.fd, slot: $0.slot, logger: logger) }
        if let slot { api.events = WorkerMetrics.events(slot) }
        do {
            try database.ensureConnected()
        } catch {
            // Not fatal: requests answer 503 until the database is back.
            api.databaseUnavailable(error)
        }
        var worker = FastCGIWorker(listenFD: 0, maxBodyBytes: configuration.maxBodyBytes, logger: logger)
        worker.slot = slot
        worker.run(routed: { head, body, parameters in
            let response = api.respond(to: APIRequest(head: head, body: body, remoteAddress: parameters.remoteAddress))
            return (response.head, response.body, response.route)
        })
    }

    /// The pool's supervisor, serving metrics when --metrics-listen is given.
    func supervisor(listenFD: Int32, workerCommand: [String], logger: Logger) throws -> Supervisor {
        var supervisor = Supervisor(workers: workers, listenFD: listenFD, workerCommand: workerCommand, logger: logger)
        guard let address = try metricsAddress() else { return supervisor }
        do {
            // Room for a reload's replacements while the old workers finish,
            // and a second reload meanwhile.
            let scoreboard = try Scoreboard.create(layout: WorkerMetrics.layout, slots: workers * 4)
            let metrics = PoolMetrics(scoreboard: scoreboard)
            let server = try MetricsServer(address)
            let exposition = MetricsExposition(layout: WorkerMetrics.layout, prefix: "agentlive_api")
            server.start { exposition.render(metrics.snapshot()) }
            supervisor.metrics = metrics
            logger.info("serving metrics", metadata: ["address": "http://\(address)/metrics"])
        } catch {
            logger.critical("\(error)")
            throw ExitCode.failure
        }
        return supervisor
    }

    /// The worker's slot of its supervisor's scoreboard.
    static func attachSlot(fd: Int32, slot: Int, logger: Logger) -> WorkerSlot? {
        do {
            return try Scoreboard.attach(fd: fd, layout: WorkerMetrics.layout).slot(slot)
        } catch {
            // A worker of a newer build spawned by an older supervisor (a reload):
            // it serves, uncounted, until the supervisor is restarted.
            logger.warning("not counted in metrics: \(error)")
            return nil
        }
    }
}

/// What ps, top and pgrep show for the processes of a pool.
enum Title {
    static let name = "agentlive-api"
    static let supervisor = "agentlive-api: supervisor"
    static let worker = "agentlive-api: worker"
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the database to this release's schema (safe to run again, and from any earlier release).",
        discussion: """
            Applies the numbered migrations not applied yet and re-applies every definition \
            (functions, views, triggers), in one transaction: a failure changes nothing. \
            Refuses to run when an applied migration has changed since. Run it as the role \
            that owns schema agentlive. Reads AGENTLIVE_DATABASE_URL (libpq connection \
            string or URI; empty: libpq's defaults and PG* variables).
            """)

    @Option(help: "The release's sql/ folder (holding migrations/ and definitions/).")
    var sqlDir: String = Migrate.installedSQLDirectory

    /// Installed beside the binaries: <prefix>/bin/agentlive-api → <prefix>/share/agentlive/sql.
    static var installedSQLDirectory: String {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/agentlive/sql").path
    }

    func run() throws {
        let folder: SQLFolder
        let report: Migrator.Report
        do {
            folder = try SQLFolder.load(path: sqlDir)
        } catch {
            throw ValidationError("\(error). Pass --sql-dir with the path of the release's sql/ folder.")
        }
        let connection = LibPQConnection(conninfo: Environment().databaseURL)
        do {
            report = try Migrator(connection: connection).migrate(folder.migrations, definitions: folder.definitions)
        } catch {
            printError("migrate: \(error)")
            throw ExitCode.failure
        }
        print(report.applied.isEmpty ? "no new migration" : report.applied.map { "applied migrations/\($0)" }.joined(separator: "\n"))
        print("applied definitions: \(report.definitions.joined(separator: ", "))")
    }

    private func printError(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
}

struct Routes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the API's routes, one `METHOD /path` a line.")

    func run() {
        Router.routes.forEach { print($0) }
    }
}
