import AgentLiveWire
import Foundation
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs an agent for one task. What the agent does is reported through `emit`,
/// which may wait: while it waits the runtime reads no more of the agent's
/// output, so a slow server slows the agent down instead of losing output.
/// Cancelling the calling task stops the agent (its whole process group).
public protocol AgentRuntime: Sendable {
    func run(
        _ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Outcome
}

/// The prompt an agent gets for a task (without NUL, which no argument can hold).
func prompt(for task: TaskDispatchPayload) -> String {
    let prompt = task.description.isEmpty ? task.title : "\(task.title)\n\n\(task.description)"
    return prompt.replacingOccurrences(of: "\u{0}", with: "")
}

/// An agent CLI run as a child process in its own process group.
public struct ProcessRuntime: AgentRuntime {
    public enum OutputFormat: Sendable {
        /// JSON lines read by a parser (Claude Code, Codex).
        case jsonLines(@Sendable () -> any SessionParser)
        /// Any program: stdout lines are text, stderr lines are errors.
        case plainText
    }

    public var executable: String
    public var arguments: @Sendable (TaskDispatchPayload) -> [String]
    public var format: OutputFormat
    /// How long the agent gets between SIGTERM and SIGKILL when it is stopped.
    public var stopGrace: Duration = .seconds(1)
    /// The daemon's environment, which the agent inherits but for the daemon's own
    /// settings (AgentEnvironment).
    public var inheritedEnvironment = ProcessInfo.processInfo.environment

    public init(
        executable: String, arguments: @escaping @Sendable (TaskDispatchPayload) -> [String], format: OutputFormat
    ) {
        self.executable = executable
        self.arguments = arguments
        self.format = format
    }

    /// The prompt comes last, after `--`, so a title such as `--help` or `-rf` is
    /// the prompt and never an option (both CLIs end their options at `--`).
    public static func claude(partialMessages: Bool, executable: String = "claude") -> ProcessRuntime {
        ProcessRuntime(
            executable: executable,
            arguments: { task in
                ["-p", "--output-format", "stream-json", "--verbose"]
                    + (partialMessages ? ["--include-partial-messages"] : []) + ["--", prompt(for: task)]
            },
            format: .jsonLines { ClaudeStreamParser() })
    }

    public static func codex(executable: String = "codex") -> ProcessRuntime {
        ProcessRuntime(
            executable: executable,
            arguments: { task in ["exec", "--json", "--skip-git-repo-check", "--", prompt(for: task)] },
            format: .jsonLines { CodexEventParser() })
    }

    /// `sh -c command`, with the task in AGENTLIVE_* environment variables.
    public static func command(_ command: String) -> ProcessRuntime {
        ProcessRuntime(executable: "/bin/sh", arguments: { _ in ["-c", command] }, format: .plainText)
    }

    public func run(
        _ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Outcome {
        var options = PlatformOptions()
        options.processGroupID = 0  // its own group, so stopping it stops its children too
        let variables = AgentEnvironment.variables(inheriting: inheritedEnvironment, for: task)
        let environment = Environment.custom(
            Dictionary(variables.map { (Environment.Key(stringLiteral: $0.key), $0.value) }, uniquingKeysWith: { first, _ in first }))
        let format = self.format
        let group = ProcessGroup()
        let result: ExecutionResult<Reading, SequenceOutput, SequenceOutput>
        do {
            result = try await Subprocess.run(
                executable.hasPrefix("/") ? .path(FilePath(executable)) : .name(executable),
                arguments: Arguments(arguments(task)),
                environment: environment,
                workingDirectory: FilePath(directory.path),
                platformOptions: options,
                input: .none, output: .sequence, error: .sequence
            ) { execution in
                group.attach(execution.processIdentifier.value)
                return try await withTaskCancellationHandler {
                    try await Self.read(execution.standardOutput, execution.standardError, format: format, emit: emit)
                } onCancel: {
                    group.terminate()
                }
            }
        } catch {
            await group.stop(grace: stopGrace)
            throw error
        }
        // Whatever the agent left running in its group goes with it.
        await group.stop(grace: stopGrace)
        let reading = result.closureResult
        // An outcome the parser only inferred at the end of the output ("exited
        // without a result") is completed by a failed exit: its stderr says why.
        if let outcome = reading.outcome, !(reading.outcomeInferred && result.terminationStatus != .exited(0)) {
            return outcome
        }
        if case .failed(let error)? = reading.outcome {
            return .failed(error: reading.stderrTail.isEmpty ? error : "\(error): \(reading.stderrTail)")
        }
        switch result.terminationStatus {
        case .exited(0):
            return .completed(output: reading.lastText)
        case .exited(let code):
            return .failed(error: "exit status \(code)" + (reading.stderrTail.isEmpty ? "" : ": \(reading.stderrTail)"))
        case .signaled(let signal):
            return .failed(error: "killed by signal \(signal)")
        }
    }

    struct Reading: Sendable {
        var outcome: Outcome?
        var lastText: String?
        var stderrTail = ""
        /// The outcome came from the parser's `finish`, not from the agent's own final word.
        var outcomeInferred = false
    }

    private static func read(
        _ stdout: SubprocessOutputSequence, _ stderr: SubprocessOutputSequence,
        format: OutputFormat, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Reading {
        async let stderrTail: String = {
            var tail: [String] = []
            for try await line in stderr.strings(bufferingPolicy: .maxLineLength(64 << 10)) {
                if case .plainText = format { await emit(.error(line)) }
                tail = Array((tail + [line]).suffix(5))
            }
            return tail.joined(separator: "\n")
        }()
        var reading = Reading()
        var parser: (any SessionParser)? = if case .jsonLines(let make) = format { make() } else { nil }
        // Lines may be large (a tool result of several MB inside one JSON line). JSON
        // lines end at LF only: a raw U+2028 or CR inside a JSON string is no line end.
        let separator: SubprocessOutputSequence.StringSequence<UTF8>.Separator = parser == nil ? .lineBreaks : .unicodeScalarSequence(["\n"])
        for try await line in stdout.strings(separatedBy: separator, bufferingPolicy: .maxLineLength(64 << 20)) {
            let events = parser?.parse(line: line) ?? [.text(line + "\n")]
            for event in events { await reading.note(event, emit) }
        }
        for event in parser?.finish() ?? [] {
            if case .finished = event { reading.outcomeInferred = true }
            await reading.note(event, emit)
        }
        reading.stderrTail = try await stderrTail
        return reading
    }
}

extension ProcessRuntime.Reading {
    /// Passes an event on, remembering what decides the outcome.
    mutating func note(_ event: AgentEvent, _ emit: @Sendable (AgentEvent) async -> Void) async {
        switch event {
        case .finished(let outcome): self.outcome = outcome
        case .text(let text): lastText = text
        default: break
        }
        if case .finished = event { return }
        await emit(event)
    }
}

/// The agent's process group: stopping it stops everything the agent started.
final class ProcessGroup: Sendable {
    private let id = Atomic<pid_t>(0)

    func attach(_ pid: pid_t) { id.store(pid, ordering: .relaxed) }

    func terminate() {
        let group = id.load(ordering: .relaxed)
        if group > 0 { kill(-group, SIGTERM) }
    }

    /// SIGTERM, up to `grace` for the group to go, then SIGKILL: nothing of it
    /// outlives this call. Runs in its own task, so a cancelled caller waits too.
    func stop(grace: Duration) async {
        let group = id.load(ordering: .relaxed)
        guard group > 0 else { return }
        await Task {
            guard kill(-group, SIGTERM) == 0 else { return }  // nothing left
            let deadline = ContinuousClock.now + grace
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
                if kill(-group, 0) != 0 { return }
            }
            kill(-group, SIGKILL)
        }.value
    }
}
