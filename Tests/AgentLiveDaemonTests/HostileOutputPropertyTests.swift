import AgentLiveFuzzSupport
@testable import AgentLiveOutput
import AgentLiveWire
import Foundation
import Testing

/// Properties that hold for any agent output, checked on generated output from
/// fixed seeds (a failure names its seed, so it replays).
@Suite struct HostileOutputPropertyTests {
    static let small = MessageSanitizer(redactor: try! Redactor(), maxContentBytes: 300, maxInputBytes: 200)
    static let full = MessageSanitizer(redactor: try! Redactor())

    static let secrets = [
        "AKIAIOSFODNN7EXAMPLE", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "glpat-xY7zW3vU9tS1rQ5pO2nM",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKl", "npm_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "sk-proj-Ab9Cd8Ef7Gh6Ij5Kl4Mn3Op2Qr1St0Uv",
        "sk-ant-api03-Xy1Zw2Vu3Ts4Rq5Po6Nm7Lk8Ji9Hg0Fe", "AIzaSyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R",
        "sk_live_51Hx2Yz3Wv4Ut5Sr6Qp7On8Ml", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oZMVDJw5hEdkoAoGCCqGSM49\n-----END EC PRIVATE KEY-----",
    ]
    /// Contexts that make `value` a secret.
    static let value = "Vq7Zx2Lp9Wm4"
    static let contexts = [
        "password=%", "export DB_PASSWORD=%", #""api_key": "%""#, "--password %", "--token=%", "mysql -u root -p% db",
        "Authorization: Bearer %", #""Authorization": "Token %""#, "Cookie: session=%", "https://deploy:%@example.com/",
    ]
    /// Random text: words, punctuation, line breaks, other scripts, combining marks.
    static let pieces = [
        "the", "fix", "test", " ", " ", " ", "\n", "\t", ".", ",", ":", "=", "-", "--", "\"", "'", "{", "}", "[", "]",
        "é", "e\u{301}", "日本", "👩‍💻", "\u{2028}", "\r\n", "x1", "42", "_", "/", "password", "token", "Bearer",
    ]

    func randomText(_ random: inout SplitMix64, pieces count: Int) -> String {
        (0..<count).map { _ in Self.pieces.randomElement(using: &random)! }.joined()
    }

    @Test(arguments: 1...200)
    func aSecretAtARandomPlaceInRandomChunksNeverGetsThrough(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let token = Self.secrets.randomElement(using: &random)!
        let (secret, inserted) =
            Bool.random(using: &random)
            ? (Self.value, Self.contexts.randomElement(using: &random)!.replacingOccurrences(of: "%", with: Self.value))
            : (token, token)
        let text = randomText(&random, pieces: Int.random(in: 0...60, using: &random))
            + [" ", "\n", "(", "\""].randomElement(using: &random)! + inserted
            + [" ", "\n", ")", "\"", ","].randomElement(using: &random)!
            + randomText(&random, pieces: Int.random(in: 0...60, using: &random))

        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        var now = ManualInstant(offset: .zero)
        var sent = ""
        var scalars = Substring(text).unicodeScalars[...]
        while !scalars.isEmpty {
            let chunk = scalars.prefix(Int.random(in: 1...24, using: &random))
            scalars = scalars.dropFirst(chunk.count)
            now = now.advanced(by: .milliseconds(Int.random(in: 0...1000, using: &random)))
            for case .text(let part) in throttle.receive(.text(String(String.UnicodeScalarView(chunk))), at: now) {
                sent += Self.full.clean(part)
            }
            for case .text(let part) in throttle.tick(at: now) { sent += Self.full.clean(part) }
        }
        for case .text(let part) in throttle.flush() { sent += Self.full.clean(part) }
        #expect(!sent.utf8.contains(secret.utf8), "seed \(seed): \(text.debugDescription) → \(sent.debugDescription)")

        let input = Self.full.clean(JSONValue.object(["command": .string(text), text: .null, "db_password": .string(secret)]))
        #expect(!input.compactJSON.utf8.contains(secret.jsonEscaped.utf8), "seed \(seed)")
    }

    @Test(arguments: 1...100)
    func randomJSONLinesGiveMessagesWithinTheLimits(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let lines = (0..<20).map { _ in
            Bool.random(using: &random) ? randomEvent(&random).compactJSON : randomText(&random, pieces: 20)
        }
        for format in SessionFormat.allCases {
            var parser = format.parser()
            let events = lines.flatMap { parser.parse(line: $0) } + parser.finish()
            var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
            var outputs: [TextThrottle<ManualInstant>.Output] = []
            for (index, event) in events.enumerated() {
                outputs += throttle.receive(event, at: ManualInstant(offset: .milliseconds(100 * index)))
            }
            outputs += throttle.flush()
            for output in outputs {
                let message = Self.small.clean(payload(output))
                #expect((message.content?.utf8.count ?? 0) <= 300, "seed \(seed)")
                #expect((message.output?.utf8.count ?? 0) <= 300, "seed \(seed)")
                #expect((message.tool?.count ?? 0) <= 200, "seed \(seed)")
                if let input = message.input, input.compactJSON.utf8.count > 200 {
                    #expect(input.object?["truncated"] == .bool(true), "seed \(seed)")
                }
            }
        }
    }

    /// An event of either format with random values where the parsers look.
    func randomEvent(_ random: inout SplitMix64) -> JSONValue {
        let types = ["assistant", "user", "result", "stream_event", "item.started", "item.updated", "item.completed",
                     "turn.completed", "turn.failed", "error", "system"]
        return .object([
            "type": .string(types.randomElement(using: &random)!),
            "message": randomValue(&random, depth: 4), "event": randomValue(&random, depth: 4),
            "item": randomValue(&random, depth: 4), "result": randomValue(&random, depth: 1),
            "subtype": randomValue(&random, depth: 0), "is_error": randomValue(&random, depth: 0),
            "error": randomValue(&random, depth: 2), "errors": randomValue(&random, depth: 2),
        ])
    }

    func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        let keys = ["type", "text", "content", "id", "name", "input", "tool_use_id", "is_error", "todos", "status",
                    "delta", "items", "command", "aggregated_output", "exit_code", "changes", "message", "password",
                    "Authorization", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "ghp_z9Y8x7W6v5U4t3S2r1Q0p9O8n7M6l5K4j3I2"]
        let strings = ["text", "tool_use", "tool_result", "text_delta", "message_start", "TodoWrite", "completed",
                       "in_progress", "command_execution", "agent_message", "file_change", "mcp_tool_call", "todo_list",
                       "success", "failed", randomText(&random, pieces: 30)]
        switch Int.random(in: 0...(depth > 0 ? 7 : 4), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number([0, -1, 1e300, 2.5, Double(Int.max)].randomElement(using: &random)!)
        case 3, 4: return .string(strings.randomElement(using: &random)!)
        case 5: return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in randomValue(&random, depth: depth - 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) {
                members[keys.randomElement(using: &random)!] = randomValue(&random, depth: depth - 1)
            }
            return .object(members)
        }
    }

    func payload(_ output: TextThrottle<ManualInstant>.Output) -> TaskMessagePayload {
        var message = TaskMessagePayload(seq: 1, type: .text)
        switch output {
        case .text(let text): message.content = text
        case .thinking(let text): (message.type, message.content) = (.thinking, text)
        case .event(.toolUse(let tool, let input, let callID)): (message.type, message.tool, message.input, message.callID) = (.toolUse, tool, input, callID)
        case .event(.toolResult(let output, let callID, _)): (message.type, message.output, message.callID) = (.toolResult, output, callID)
        case .event(.error(let text)), .event(.progress(let text, _, _)): message.content = text
        case .event(.text), .event(.thinking), .event(.finished), .event(.session), .event(.usage): break
        }
        return message
    }
}

extension String {
    /// As JSONEncoder writes it inside a string (newlines as `\n`).
    var jsonEscaped: String { replacingOccurrences(of: "\n", with: "\\n") }
}

extension String.UTF8View {
    func contains(_ needle: String.UTF8View) -> Bool {
        let haystack = Array(self), needle = Array(needle)
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

@Suite struct DeepJSONTests {
    /// JSON nested as deep as the decoder accepts, read on a concurrency thread as
    /// the daemon reads it: parsed, sanitized and measured without running out of stack.
    @Test(arguments: [100, 500, 600, 5000])
    func deeplyNestedToolInputIsHandled(depth: Int) async {
        let line = #"{"type":"assistant","message":{"id":"m","content":[{"type":"tool_use","id":"c","name":"X","input":{"a":"#
            + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}}]}}"
        let message: TaskMessagePayload? = await Task.detached {
            var parser = ClaudeStreamParser()
            guard case .toolUse(let tool, let input, let callID)? = parser.parse(line: line).first else { return nil }
            return HostileOutputPropertyTests.small.clean(TaskMessagePayload(seq: 1, type: .toolUse, tool: tool, callID: callID, input: input))
        }.value
        if let message {
            #expect(message.tool == "X")
            #expect(message.input != nil)
        } else {
            #expect(depth > 506)  // beyond the decoder's nesting limit (512) the line is not JSON
        }
    }
}
