@testable import AgentLiveDaemon
@testable import AgentLiveOutput
import AgentLiveWire
import Foundation
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
        "gho_" + String(repeating: "Zz09", count: 9),
        "ghu_" + String(repeating: "Yy18", count: 9),
        "ghs_" + String(repeating: "Xx27", count: 9),
        "ghr_" + String(repeating: "Ww36", count: 9),
        "glpat-" + String(repeating: "aZ_9", count: 5),
        "xoxp-1234567890-abcdefghij",
        "xoxa-2-1234567890-abcdefghij",
        "xapp-1-A0123456789-1234567890123-abcdef0123456789",
        "ASIA" + String(repeating: "Q", count: 16),
        "npm_" + String(repeating: "a1B2", count: 9),
        "hf_" + String(repeating: "AbCd", count: 8) + "Ef",
        "sk-" + String(repeating: "T3BlbkFJ", count: 6),
        "rk_live_" + String(repeating: "9", count: 24),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----",
    ])
    func providerSecretsAreReplaced(secret: String) {
        let redacted = redactor.redact("before \(secret) after")
        #expect(redacted == "before [redacted] after")
    }

    /// Each is what an agent ran or printed; the part after `|` is the secret.
    @Test(arguments: [
        ("curl -H 'Authorization: Bearer |abc123def456ghi'", "curl -H 'Authorization: [redacted]'"),
        (#"{"Authorization": "Token |9f8e7d6c5b4a"}"#, #"{"Authorization": "[redacted]"}"#),
        ("Authorization: Basic |dXNlcjpwYXNzd29yZA==", "Authorization: [redacted]"),
        ("fetch(url, {headers: {Bearer |eyJ0eXAiOiJKV1Q1}})", "fetch(url, {headers: {Bearer [redacted]}})"),
        ("Cookie: session=|a1b2c3; theme=dark", "Cookie: [redacted]"),
        ("Set-Cookie: sid=|31d4d96e407aad42; Secure", "Set-Cookie: [redacted]"),
        ("mysql -u root -p|S3cretPw shop", "mysql -u root -p[redacted] shop"),
        ("mysqldump -h db -u admin -p'|my pw' shop", "mysqldump -h db -u admin -p[redacted] shop"),
        ("psql --password |hunter22 -h db", "psql --password [redacted] -h db"),
        ("tool --password=|hunter22 --verbose", "tool --password=[redacted] --verbose"),
        ("gh auth login --with-token --token |xyz987abc", "gh auth login --with-token --token [redacted]"),
        ("deploy --api-key \"|k 1 2\"", "deploy --api-key [redacted]"),
        ("export GITLAB_TOKEN=|abcdef123456", "export GITLAB_TOKEN=[redacted]"),
        ("aws_secret_access_key = |wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [redacted]"),
        ("  db_password: |hunter22", "  db_password: [redacted]"),
        ("git clone https://oauth2:|s3cr3tT0k@gitlab.example.com/x.git", "git clone https://oauth2:[redacted]@gitlab.example.com/x.git"),
        ("curl -u admin:|p4ssw0rd https://x", "curl -u admin:[redacted] https://x"),
        ("sshpass -p |Pa55word ssh host", "sshpass -p [redacted] ssh host"),
    ])
    func secretsInTheirContextLoseTheirValue(example: (String, String)) {
        let secret = String(example.0.split(separator: "|")[1].prefix(8))
        let text = example.0.replacingOccurrences(of: "|", with: "")
        let redacted = redactor.redact(text)
        #expect(redacted == example.1)
        #expect(!redacted.contains(secret))
    }

    @Test func aKeyBlockWithoutItsEndIsRedactedFromItsHeaderOn() {
        let text = "cat id_rsa\n-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwEC"
        #expect(redactor.redact(text) == "cat id_rsa\n[redacted]")
    }

    /// Hostile shapes, a MiB each: patterns that could backtrack meet long runs of
    /// what they accept. The assertions are on the result; the time shows in the log.
    @Test(arguments: [
        ("many key headers", String(repeating: "-----BEGIN RSA PRIVATE KEY-----!", count: 1 << 15)),
        ("JWT-like runs", String(repeating: "eyJ-", count: 1 << 18)),
        ("word runs", String(repeating: "a-", count: 1 << 19)),
        ("assignment names", String(repeating: "password_token_secret.", count: 1 << 16)),
        ("URLs without hosts", String(repeating: "a://b:c", count: 1 << 17)),
        ("letters", String(repeating: "x", count: 1 << 20)),
    ])
    func aMegabyteOfHostileTextIsRedactedInOnePass(example: (String, String)) {
        let started = ContinuousClock.now
        let redacted = redactor.redact(example.1)
        print("redact(\(example.0), \(example.1.utf8.count) bytes): \(ContinuousClock.now - started)")
        #expect(!redacted.isEmpty)
        #expect(redacted.utf8.count <= example.1.utf8.count)
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

    @Test func twoKeysThatRedactToTheSameStringAreBothKept() {
        let sanitizer = MessageSanitizer(redactor: try! Redactor())
        let first = "ghp_" + String(repeating: "a1B2", count: 9), second = "ghp_" + String(repeating: "c3D4", count: 9)
        let cleaned = sanitizer.clean(JSONValue.object([first: .string("one"), second: .string("two"), "x": .object([first: .null, second: .null])]))
        #expect(cleaned == .object([
            "[redacted]": .string("one"), "[redacted] (2)": .string("two"),
            "x": .object(["[redacted]": .null, "[redacted] (2)": .null]),
        ]))
    }

    @Test func keysThatNameASecretLoseTheirWholeValue() {
        let sanitizer = MessageSanitizer(redactor: try! Redactor())
        let input = JSONValue.object([
            "password": .string("correct horse"), "Authorization": .string("Token 9f8e7d6c"),
            "headers": .object(["X-Api-Key": .string("k1"), "Cookie": .string("sid=1")]),
            "credentials": .object(["user": .string("bob"), "pin": .number(1234)]),
            "max_tokens": .number(4096), "access_token": .string("opaque"), "path": .string("/tmp/x"),
        ])
        #expect(sanitizer.clean(input) == .object([
            "password": .string("[redacted]"), "Authorization": .string("[redacted]"),
            "headers": .object(["X-Api-Key": .string("[redacted]"), "Cookie": .string("[redacted]")]),
            "credentials": .object(["user": .string("[redacted]"), "pin": .string("[redacted]")]),
            "max_tokens": .number(4096), "access_token": .string("[redacted]"), "path": .string("/tmp/x"),
        ]))
    }

    @Test(arguments: [0, 1, 10, 70, 80])
    func truncationStaysWithinAnyLimit(limit: Int) {
        let text = String(repeating: "é", count: 100)
        #expect(sanitizer.truncated(text, to: limit).utf8.count <= limit)
    }

    @Test func nulAndSecretsAreRemovedEverywhereIncludingToolInput() {
        var message = TaskMessagePayload(seq: 1, type: .toolUse, tool: "Bash", input: .object(["command": .string("export password=x\u{0}")]))
        message = sanitizer.clean(message)
        #expect(message.input == .object(["command": .string("export password=[redacted]")]))
        let big = TaskMessagePayload(seq: 2, type: .toolUse, tool: "Write", input: .object(["content": .string(String(repeating: "z", count: 100))]))
        #expect(sanitizer.clean(big).input?.object?["truncated"] == .bool(true))
    }
}
