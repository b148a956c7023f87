import AgentLiveDaemon
import ArgumentParser
import Foundation

/// One agent the daemon serves and how to run it: from the flags, or one entry
/// of the config file's `agents` list:
/// `{"agent": ID, "runtime": "claude", "command": …, "session": …, "speed": …,
///   "model": …, "args": [...], "max_tasks": N}`.
struct AgentSettings: Decodable, Sendable {
    var agent: String
    var runtime: DaemonCommand.RuntimeKind
    /// The shell command of the `command` runtime; the program of an agent CLI.
    var command: String?
    var session: String?
    var speed: Double?
    var model: String?
    /// More arguments for the agent CLI.
    var args: [String]?
    var maxTasks: Int?

    enum CodingKeys: String, CodingKey {
        case agent, runtime, command, session, speed, model, args
        case maxTasks = "max_tasks"
    }

    init(
        agent: String, runtime: DaemonCommand.RuntimeKind, command: String? = nil, session: String? = nil,
        speed: Double? = nil, model: String? = nil, args: [String]? = nil, maxTasks: Int? = nil
    ) {
        self.agent = agent
        self.runtime = runtime
        self.command = command
        self.session = session
        self.speed = speed
        self.model = model
        self.args = args
        self.maxTasks = maxTasks
    }

    /// A folder name for this agent's state: its id, with anything odd replaced.
    var folderName: String {
        String(agent.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(100))
    }

    /// The runtime, once its program is known to be there: a missing agent CLI
    /// is an error now, before the daemon registers or claims anything.
    func makeRuntime() async throws -> any AgentRuntime {
        switch runtime {
        case .command:
            guard let command else { throw ValidationError("--command is required for the command runtime (agent \(agent))") }
            return ProcessRuntime.command(command)
        case .replay:
            guard let session else { throw ValidationError("--session is required for the replay runtime (agent \(agent))") }
            guard FileManager.default.isReadableFile(atPath: session) else { throw ValidationError("cannot read the session \(session)") }
            return ReplayRuntime(session: URL(fileURLWithPath: session), speed: speed ?? 1)
        case .claude, .codex, .gemini, .opencode:
            guard let cli = AgentCLI(rawValue: runtime.rawValue) else { throw ValidationError("unknown runtime \(runtime)") }
            if let missing = cli.missing(command: command) { throw ValidationError(missing) }
            let partial = cli == .claude
                ? await RuntimeDetection.claudeSupportsPartialMessages(program: command.flatMap { AgentCLI.locate($0) } ?? "claude")
                : false
            return SessionFallbackRuntime(cli.runtime(AgentCLI.Options(
                command: command, model: model, extraArguments: args ?? [], partialMessages: partial)))
        }
    }
}

/// `agentlive-daemon doctor`: which agent CLIs this machine has.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prints each runtime's program and version, or \"not found\" (what --runtime can use here).")

    func run() async throws {
        for line in await RuntimeDetection.doctor() { print(line) }
    }
}
