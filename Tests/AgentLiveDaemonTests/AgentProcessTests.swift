@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Testing

/// The real CLIs cannot run here: a fake one records its argv and environment in
/// its working folder and prints `output` on stdout.
struct RecordingCLI {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentlive-fake-cli-\(UUID().uuidString)")
    var executable: String { folder.appendingPathComponent("fake-agent").path }
    var work: URL { folder.appendingPathComponent("work") }

    init(output: String) throws {
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            for argument in "$@"; do printf '%s\\0' "$argument"; done > argv
            env -0 > environment
            cat <<'OUTPUT'
            \(output)
            OUTPUT

            """
        try script.write(toFile: executable, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable)
    }

    func recorded(_ name: String) throws -> [String] {
        try String(contentsOf: work.appendingPathComponent(name), encoding: .utf8).split(separator: "\0").map(String.init)
    }
}

actor EventRecorder {
    var events: [AgentEvent] = []
    func append(_ event: AgentEvent) { events.append(event) }
}

@Suite struct AgentProcessTests {
    static let hostileTitle = "--help -rf; $(reboot)"
    let task = TaskDispatchPayload(taskID: "t1", issueID: "i1", title: hostileTitle, description: "")

    @Test func claudeGetsThePromptAfterTheEndOfItsOptions() async throws {
        let cli = try RecordingCLI(output: #"{"type":"result","subtype":"success","is_error":false,"result":"done"}"#)
        let outcome = try await ProcessRuntime.claude(partialMessages: true, executable: cli.executable)
            .run(task, in: cli.work) { _ in }
        #expect(outcome == .completed(output: "done"))
        #expect(try cli.recorded("argv") == [
            "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--", Self.hostileTitle,
        ])
    }

    @Test func codexGetsThePromptAfterTheEndOfItsOptions() async throws {
        let cli = try RecordingCLI(output: #"{"type":"turn.completed","usage":{}}"#)
        let outcome = try await ProcessRuntime.codex(executable: cli.executable).run(task, in: cli.work) { _ in }
        #expect(outcome == .completed(output: nil))
        #expect(try cli.recorded("argv") == ["exec", "--json", "--skip-git-repo-check", "--", Self.hostileTitle])
    }

    @Test func theAgentDoesNotInheritTheDaemonsSettingsOrToken() async throws {
        let cli = try RecordingCLI(output: #"{"type":"turn.completed"}"#)
        var runtime = ProcessRuntime.codex(executable: cli.executable)
        runtime.inheritedEnvironment = [
            "PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "AGENTLIVE_TOKEN": "ald_00000000000000000000000000000000_111111111111111111111111111111111111111111111111",
            "AGENTLIVE_TOKEN_FILE": "/etc/agentlive/token", "AGENTLIVE_SERVER": "https://agentlive.example",
        ]
        _ = try await runtime.run(task, in: cli.work) { _ in }
        let environment = try cli.recorded("environment")
        #expect(!environment.contains { $0.hasPrefix("AGENTLIVE_TOKEN") || $0.hasPrefix("AGENTLIVE_SERVER") })
        #expect(!environment.contains { $0.contains("1111111111") || $0.contains("/etc/agentlive/token") })
        #expect(environment.contains("HOME=/tmp"))
        #expect(environment.contains("AGENTLIVE_TASK_TITLE=\(Self.hostileTitle)"))
    }

    @Test func aLineSeparatorInsideAJSONStringDoesNotEndTheLine() async throws {
        let lines = [
            #"{"type":"assistant","message":{"id":"m","content":[{"type":"text","text":"a\#u{2028}b"}]}}"#,
            #"{"type":"result","subtype":"success","is_error":false,"result":"ok"}"#,
        ]
        let cli = try RecordingCLI(output: lines.joined(separator: "\n"))
        let recorder = EventRecorder()
        _ = try await ProcessRuntime.claude(partialMessages: false, executable: cli.executable)
            .run(task, in: cli.work) { await recorder.append($0) }
        #expect(await recorder.events == [.text("a\u{2028}b")])
    }
}
