@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Testing

/// The recorded sessions in Tests/Fixtures/sessions, and what they must map to
/// (expected/, written by make_expected.py from the documented formats).
enum Fixtures {
    static let sessions = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sessions")

    struct Outcome: Decodable {
        struct Progress: Decodable, Equatable {
            var summary: String
            var step: Int?
            var total: Int?
        }
        var status: String
        var output: String?
        var error: String?
        var progress: [Progress]
        var sessionID: String?
        var usage: TaskUsage?

        enum CodingKeys: String, CodingKey {
            case status, output, error, progress, usage
            case sessionID = "session_id"
        }
    }

    static func expectedMessages(_ name: String) throws -> [TaskMessagePayload] {
        try JSONDecoder().decode(
            [TaskMessagePayload].self, from: Data(contentsOf: sessions.appendingPathComponent("expected/\(name).messages.json")))
    }

    static func expectedOutcome(_ name: String) throws -> Outcome {
        try JSONDecoder().decode(Outcome.self, from: Data(contentsOf: sessions.appendingPathComponent("expected/\(name).outcome.json")))
    }
}

/// Consecutive text messages as one (and consecutive thinking messages as one),
/// renumbered: how throttling may group text is timing, not meaning.
func mergingText(_ messages: [TaskMessagePayload]) -> [TaskMessagePayload] {
    var result: [TaskMessagePayload] = []
    for message in messages {
        if message.type == .text || message.type == .thinking, let last = result.last, last.type == message.type {
            result[result.count - 1].content = (last.content ?? "") + (message.content ?? "")
        } else {
            result.append(message)
        }
    }
    return result.enumerated().map { index, message in
        var message = message
        message.seq = Int64(index + 1)
        return message
    }
}

@Suite struct SessionParserTests {
    static let names = [
        "claude-short", "claude-long", "claude-error", "codex-short", "codex-long", "codex-failed",
        "gemini-long", "gemini-failed", "opencode-long", "opencode-failed",
    ]

    @Test(arguments: names)
    func replayingARecordedSessionGivesTheExpectedMessagesAndOutcome(name: String) async throws {
        let sanitizer = MessageSanitizer(redactor: try Redactor())
        let pipeline = MessagePipeline(buffer: MessageBuffer(limitBytes: .max), sanitizer: sanitizer, throttleInterval: .seconds(3600))
        var progress: [Fixtures.Outcome.Progress] = []
        let events = ReplayRecorder()
        let facts = SessionFacts()
        let outcome = try await ReplayRuntime(session: Fixtures.sessions.appendingPathComponent("\(name).jsonl"), speed: 0)
            .run(TaskDispatchPayload(taskID: "t", issueID: "i", title: "", description: ""), in: URL(fileURLWithPath: "/tmp")) {
                await events.append($0)
                if !facts.take($0) { await pipeline.receive($0) }
            }
        pipeline.finish()
        for case .progress(let summary, let step, let total) in await events.all {
            let update = Fixtures.Outcome.Progress(summary: summary, step: step, total: total)
            if progress.last != update { progress.append(update) }
        }
        let sent = await pipeline.buffer.nextBatch(maxCount: .max, maxBytes: .max) ?? []

        let expected = try Fixtures.expectedMessages(name).map(sanitizer.clean)
        #expect(mergingText(sent) == mergingText(expected))
        let expectedOutcome = try Fixtures.expectedOutcome(name)
        switch outcome {
        case .completed(let output):
            #expect(expectedOutcome.status == "completed")
            #expect(output == expectedOutcome.output)
        case .failed(let error):
            #expect(expectedOutcome.status == "failed")
            #expect(error == expectedOutcome.error)
        }
        #expect(progress == expectedOutcome.progress)
        #expect(facts.sessionID == expectedOutcome.sessionID)
        #expect(facts.usage == expectedOutcome.usage)
    }

    @Test func everyRecordedRuntimeReportsItsSessionAndUsage() throws {
        for name in Self.names {
            let outcome = try Fixtures.expectedOutcome(name)
            #expect(outcome.sessionID != nil, "\(name)")
            // codex-failed ends with turn.failed, which carries no usage.
            #expect((outcome.usage != nil) == (name != "codex-failed"), "\(name)")
        }
    }

    @Test func theReplayRecognisesEachRuntimeFromTheContent() throws {
        let formats: [String: SessionFormat] = [
            "claude-short": .claude, "codex-short": .codex, "gemini-long": .gemini, "opencode-long": .opencode,
        ]
        for (name, format) in formats {
            let text = try String(contentsOf: Fixtures.sessions.appendingPathComponent("\(name).jsonl"), encoding: .utf8)
            let first = String(text.prefix { $0 != "\n" })
            #expect(SessionFormat(firstLine: first) == format, "\(name)")
        }
        #expect(SessionFormat(firstLine: "Loaded cached credentials.") == nil)
    }

    @Test func streamedThinkingBecomesThinkingAndIsNotRepeated() {
        var parser = ClaudeStreamParser()
        let lines = [
            #"{"type":"stream_event","event":{"type":"message_start","message":{"id":"m1"}}}"#,
            #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hm"}}}"#,
            #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}}"#,
            #"{"type":"assistant","message":{"id":"m1","content":[{"type":"thinking","thinking":"Hm","signature":"x"}]}}"#,
            #"{"type":"assistant","message":{"id":"m2","content":[{"type":"redacted_thinking","data":"zz"},{"type":"thinking","thinking":"Ok"}]}}"#,
        ]
        #expect(lines.flatMap { parser.parse(line: $0) } == [.thinking("Hm"), .thinking("Ok")])
    }

    @Test func hostileUsageNeitherCrashesNorReachesTheServerOutOfRange() {
        var parser = OpenCodeEventParser()
        let huge = #"{"type":"step_finish","sessionID":"s","part":{"tokens":{"input":9e18,"output":-5,"cache":{"read":1e300}},"cost":1e307}}"#
        let events = [huge, huge, huge].flatMap { parser.parse(line: $0) }
        let facts = SessionFacts()
        for event in events { _ = facts.take(event) }
        #expect(facts.usage?.inputTokens == .max)
        #expect(facts.usage?.outputTokens == 0)
        #expect(facts.usage?.costUSD == nil)
        #expect(facts.sessionID == "s")
    }

    @Test func everyKindOfBlockIsCovered() throws {
        let all = try Self.names.flatMap(Fixtures.expectedMessages)
        #expect(Set(all.map(\.type)) == TaskMessageType.known)
        #expect(all.contains { $0.isError == true })
        #expect(all.contains { ($0.output?.utf8.count ?? 0) > 300_000 })
    }

    @Test func streamedTextIsNotRepeatedByTheFinalAssistantMessage() {
        var parser = ClaudeStreamParser()
        let lines = [
            #"{"type":"stream_event","event":{"type":"message_start","message":{"id":"m1"}}}"#,
            #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}}"#,
            #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}}"#,
            #"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Hello"},{"type":"tool_use","id":"c","name":"Bash","input":{"command":"ls"}}]}}"#,
            #"{"type":"assistant","message":{"id":"m2","content":[{"type":"text","text":"Bye"}]}}"#,
        ]
        let events = lines.flatMap { parser.parse(line: $0) }
        #expect(events == [
            .text("Hel"), .text("lo"),
            .toolUse(tool: "Bash", input: .object(["command": .string("ls")]), callID: "c"),
            .text("Bye"),
        ])
        #expect(parser.finish() == [.finished(.failed(error: "the agent exited without a result"))])
    }
}

actor ReplayRecorder {
    var all: [AgentEvent] = []
    func append(_ event: AgentEvent) { all.append(event) }
}
