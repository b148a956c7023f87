@testable import AgentLiveDaemon
import AgentLiveWire
import Testing

@Suite struct RedactorTests {
    let redactor = try! Redactor()

    @Test(arguments: [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + String(repeating: "a1B2", count: 9),
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "sk-ant-api03-" + String(repeating: "x", count: 40),
        "sk-proj-" + String(repeating: "Ab9", count: 12),
        "xoxb-123456789012-abcdefghij",
        "AIza" + String(repeating: "B", count: 35),
        "sk_live_" + String(repeating: "4", count: 24),
        "ald_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48),
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    ])
    func providerSecretsAreReplaced(secret: String) {
        let redacted = redactor.redact("before \(secret) after")
        #expect(redacted == "before [redacted] after")
    }

    @Test func assignmentsKeepTheirNameAndLoseTheirValue() {
        #expect(redactor.redact("password=hunter2 user=bob") == "password=[redacted] user=bob")
        #expect(redactor.redact(#"DB_PASSWORD="s3 cr3t" next"#) == "DB_PASSWORD=[redacted] next")
        #expect(redactor.redact(#"{"api_key": "abc123"}"#) == #"{"api_key": [redacted]}"#)
        #expect(redactor.redact("DATABASE_URL=postgres://ledger:hunter2@db:5432/x") == "DATABASE_URL=postgres://ledger:[redacted]@db:5432/x")
        #expect(redactor.redact("see https://example.com/a:b@c") == "see https://example.com/a:b@c")
        // Code that names a type is not a secret.
        #expect(redactor.redact("let token: String = read()") == "let token: String = read()")
    }

    @Test func ordinaryTextIsLeftAlone() {
        let text = "Ran 42 tests in 0.3s — all passed. 日本語 ✓ sk-short"
        #expect(redactor.redact(text) == text)
    }

    @Test func extraPatternsFromTheConfiguration() throws {
        let custom = try Redactor(extraPatterns: [#"ACME-[0-9]{6}"#])
        #expect(custom.redact("id ACME-123456") == "id [redacted]")
        #expect(throws: (any Error).self) { try Redactor(extraPatterns: ["("]) }
    }
}

@Suite struct MessageSanitizerTests {
    let sanitizer = MessageSanitizer(redactor: try! Redactor(), maxContentBytes: 64, maxInputBytes: 40)

    @Test func oversizedTextIsTruncatedOnACharacterBoundaryWithANote() {
        let text = String(repeating: "é", count: 100)  // 200 bytes
        let cleaned = sanitizer.truncated(text)
        #expect(cleaned.utf8.count <= 64)
        #expect(cleaned.contains("[truncated by agentlive-daemon: 200 bytes in all]"))
        #expect(cleaned.hasPrefix("é"))
    }

    @Test func nulAndSecretsAreRemovedEverywhereIncludingToolInput() {
        var message = TaskMessagePayload(seq: 1, type: .toolUse, tool: "Bash", input: .object(["command": .string("export password=x\u{0}")]))
        message = sanitizer.clean(message)
        #expect(message.input == .object(["command": .string("export password=[redacted]")]))
        let big = TaskMessagePayload(seq: 2, type: .toolUse, tool: "Write", input: .object(["content": .string(String(repeating: "z", count: 100))]))
        #expect(sanitizer.clean(big).input?.object?["truncated"] == .bool(true))
    }
}
