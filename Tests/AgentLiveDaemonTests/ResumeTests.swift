@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Testing

/// A fake agent CLI: a shell script that records its arguments (one call per
/// line, arguments separated by U+001F) and prints a recorded session.
struct FakeCLI {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentlive-fake-cli-\(UUID().uuidString)")
    var program: URL { folder.appendingPathComponent("agent") }
    var argvLog: URL { folder.appendingPathComponent("argv.log") }

    /// `whenResumed` runs (as shell) when the arguments hold `resumeFlag`.
    init(session: String, resumeFlag: String, whenResumed: String? = nil) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let fixture = Fixtures.sessions.appendingPathComponent("\(session).jsonl").path
        let script = """
            #!/bin/sh
            for a in "$@"; do printf '%s\\037' "$a"; done >> '\(argvLog.path)'
            echo >> '\(argvLog.path)'
            for a in "$@"; do
              if [ "$a" = '\(resumeFlag)' ]; then
                \(whenResumed ?? ":")
              fi
            done
            cat '\(fixture)'
            """
        try script.write(to: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
    }

    /// Each call's arguments.
    func calls() throws -> [[String]] {
        try String(contentsOf: argvLog, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
    }
}

@Suite struct ResumeTests {
    let dispatch = TaskDispatchPayload(
        taskID: "r1", issueID: "i1", title: "Go on", description: "", resumeSessionID: "0f0e0d0c-prev-session")

    func run(_ cli: AgentCLI, _ fake: FakeCLI, _ task: TaskDispatchPayload) async -> FakeServer {
        let server = FakeServer()
        let runtime = SessionFallbackRuntime(cli.runtime(AgentCLI.Options(command: fake.program.path)))
        await TaskRunnerTests().runner(server, runtime).run(task, stop: StopSignal())
        return server
    }

    @Test func aClaimWithASessionResumesItWithClaudesFlag() async throws {
        let fake = try FakeCLI(session: "claude-short", resumeFlag: "--resume")
        let server = await run(.claude, fake, dispatch)
        let calls = try fake.calls()
        #expect(calls.count == 1)
        let argv = try #require(calls.first)
        let flag = try #require(argv.firstIndex(of: "--resume"))
        #expect(argv.dropFirst(flag + 1).first == "0f0e0d0c-prev-session")
        #expect(argv.contains("Go on"))
        let outcome = try Fixtures.expectedOutcome("claude-short")
        let completed = try #require(server.state.withLock { $0.completed })
        #expect(completed.sessionID == outcome.sessionID)
        #expect(completed.usage == outcome.usage)
        #expect(!server.messages.contains { $0.type == .error })
    }

    @Test func codexResumesWithExecResume() async throws {
        let fake = try FakeCLI(session: "codex-short", resumeFlag: "resume")
        _ = await run(.codex, fake, dispatch)
        let argv = try #require(try fake.calls().first)
        #expect(Array(argv.prefix(3)) == ["exec", "resume", "0f0e0d0c-prev-session"])
        #expect(argv.contains("--json"))
    }

    @Test func aTaskWithoutASessionStartsFresh() async throws {
        let fake = try FakeCLI(session: "gemini-long", resumeFlag: "--resume")
        var fresh = dispatch
        fresh.resumeSessionID = nil
        let server = await run(.gemini, fake, fresh)
        let argv = try #require(try fake.calls().first)
        #expect(!argv.contains("--resume"))
        #expect(Array(argv.prefix(3)) == ["-p", "Go on", "--output-format"])
        #expect(server.state.withLock { $0.completed?.usage } == (try Fixtures.expectedOutcome("gemini-long").usage))
    }

    @Test func aSessionThatIsGoneIsStartedAfreshWithANoteInTheTranscript() async throws {
        // As Claude Code does: the error on stderr, exit status 1, no output.
        let fake = try FakeCLI(
            session: "claude-short", resumeFlag: "--resume",
            whenResumed: "echo 'No conversation found with session ID: 0f0e0d0c-prev-session' >&2; exit 1")
        let server = await run(.claude, fake, dispatch)
        let calls = try fake.calls()
        #expect(calls.count == 2)
        #expect(calls.first?.contains("--resume") == true)
        #expect(calls.last?.contains("--resume") == false)
        let messages = server.messages
        #expect(messages.first?.type == .error)
        #expect(messages.first?.content?.contains("could not be resumed") == true)
        // Then the new session, as recorded.
        let expected = try Fixtures.expectedMessages("claude-short")
        #expect(mergingText(Array(messages.dropFirst())).map(\.type) == mergingText(expected).map(\.type))
        let completed = try #require(server.state.withLock { $0.completed })
        #expect(completed.sessionID == (try Fixtures.expectedOutcome("claude-short").sessionID))
    }

    @Test func anotherEarlyFailureIsReportedAsItIsWithoutARetry() async throws {
        let fake = try FakeCLI(
            session: "claude-short", resumeFlag: "--resume", whenResumed: "echo 'Invalid API key' >&2; exit 1")
        let server = await run(.claude, fake, dispatch)
        #expect(try fake.calls().count == 1)
        #expect(server.state.withLock { $0.failed?.error }?.contains("Invalid API key") == true)
    }
}
