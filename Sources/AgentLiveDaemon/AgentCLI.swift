import AgentLiveWire
import Foundation

/// The agent CLIs the daemon knows: how to run one headless for a task, how to
/// resume one of its sessions, and what to install when it is missing.
public enum AgentCLI: String, CaseIterable, Sendable {
    case claude, codex, gemini, opencode

    /// The program's name on PATH.
    public var executable: String { rawValue }

    public var displayName: String {
        switch self {
        case .claude: "Claude Code"
        case .codex: "OpenAI Codex CLI"
        case .gemini: "Gemini CLI"
        case .opencode: "opencode"
        }
    }

    public var installHint: String {
        switch self {
        case .claude: "npm install -g @anthropic-ai/claude-code"
        case .codex: "npm install -g @openai/codex"
        case .gemini: "npm install -g @google/gemini-cli"
        case .opencode: "npm install -g opencode-ai"
        }
    }

    /// Per-agent options from the configuration.
    public struct Options: Sendable {
        /// The program to run instead of `executable` (a path or a name on PATH).
        public var command: String?
        public var model: String?
        /// More arguments, placed among the CLI's own options (before the prompt).
        public var extraArguments: [String] = []
        /// Claude Code only: stream text as it is written (newer versions).
        public var partialMessages = false

        public init(command: String? = nil, model: String? = nil, extraArguments: [String] = [], partialMessages: Bool = false) {
            self.command = command
            self.model = model
            self.extraArguments = extraArguments
            self.partialMessages = partialMessages
        }
    }

    /// How many leading arguments name a subcommand (`codex exec`, `opencode run`):
    /// options and the resume flag go after them.
    var subcommandLength: Int {
        switch self {
        case .claude, .gemini: 0
        case .codex, .opencode: 1
        }
    }

    /// What resumes session `id`, placed after the subcommand.
    func resumeArguments(_ id: String) -> [String] {
        switch self {
        case .claude, .gemini: ["--resume", id]
        case .codex: ["resume", id]  // `codex exec resume <id> [options] <prompt>`
        case .opencode: ["--session", id]
        }
    }

    /// The runtime for this CLI. A task whose claim names a session to resume
    /// gets the resume flag; `SessionFallbackRuntime` starts afresh when that
    /// session is gone.
    public func runtime(_ options: Options = Options()) -> ProcessRuntime {
        var runtime: ProcessRuntime =
            switch self {
            case .claude: .claude(partialMessages: options.partialMessages)
            case .codex: .codex()
            case .gemini:
                ProcessRuntime(
                    executable: "gemini",
                    arguments: { task in ["-p", prompt(for: task), "--output-format", "stream-json"] },
                    format: .jsonLines { GeminiStreamParser() })
            case .opencode:
                ProcessRuntime(
                    executable: "opencode",
                    arguments: { task in ["run", "--format", "json", "--thinking", prompt(for: task)] },
                    format: .jsonLines { OpenCodeEventParser() })
            }
        if let command = options.command { runtime.executable = command }
        let added = (options.model.map { ["--model", $0] } ?? []) + options.extraArguments
        let base = runtime.arguments
        let cli = self
        runtime.arguments = { task in
            var arguments = cli.inserting(added, into: base(task))
            if let id = task.resumeSessionID { arguments = cli.inserting(cli.resumeArguments(id), into: arguments) }
            return arguments
        }
        return runtime
    }

    func inserting(_ added: [String], into arguments: [String]) -> [String] {
        let at = min(subcommandLength, arguments.count)
        return Array(arguments[..<at]) + added + Array(arguments[at...])
    }

    /// Where `name` is: itself when it holds a slash, else the first executable
    /// file of that name on PATH.
    public static func locate(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        let fileManager = FileManager.default
        if name.contains("/") { return fileManager.isExecutableFile(atPath: name) ? name : nil }
        for folder in (path ?? "").split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            var isFolder: ObjCBool = false
            if fileManager.fileExists(atPath: candidate, isDirectory: &isFolder), !isFolder.boolValue,
                fileManager.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }

    /// Why the daemon cannot use this CLI, or nil when it is installed.
    public func missing(command: String? = nil) -> String? {
        let program = command ?? executable
        guard Self.locate(program) == nil else { return nil }
        let others = (Self.allCases.filter { $0 != self }.map(\.rawValue) + ["command", "replay"]).joined(separator: ", ")
        return "\(displayName) (`\(program)`) is not installed or not on PATH: install it (\(installHint)), "
            + "or choose another --runtime (\(others)); `agentlive-daemon doctor` shows what this machine has"
    }
}
