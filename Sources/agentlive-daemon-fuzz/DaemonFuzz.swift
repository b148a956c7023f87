// agentlive-daemon-fuzz: libFuzzer target for what the daemon does with an agent's
// output before it leaves the machine: the session parsers (Claude Code stream-json,
// Codex exec --json), text throttling and the sanitizer (redaction, size limits).
//
// An input is an agent's stdout: lines of (usually) JSON. Each input goes
//   1. through every session parser, line by line, then the events through the
//      throttle and the sanitizer with small limits: every message must be within
//      the limits and hold no NUL;
//   2. with a known secret (a token format, a private key block, or a value in a
//      context that names a secret: `--password V`, `Authorization: Bearer V`…)
//      inserted at a random place, between separators, through the redactor, as the
//      value and as a key of a tool input, and cut into random chunks through the
//      throttle with a timed flush after every chunk: the secret must not come out
//      more often than the input held it without the insertion (the fuzzer may
//      write it itself, in a context where it is not one).
// The random choices come from a hash of the input, so a reproducer replays exactly.
// Anything else traps: that is the crash libFuzzer reports.
//
// Built with `-sanitize=fuzzer -DFUZZING` (`deploy/dev/fuzz.sh daemon`), `main` hands
// over to libFuzzer. In a normal build it replays files: `agentlive-daemon-fuzz FILE|DIR…`.

import AgentLiveFuzzSupport
import AgentLiveOutput
import AgentLiveWire
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = DaemonFuzzInput(Array(UnsafeBufferPointer(start: data, count: size)))
    input.run()
    return 0
}

struct DaemonFuzzInput {
    static let redactor = try! Redactor()
    /// Small limits, so that inputs of a few KiB reach the truncation paths.
    static let small = MessageSanitizer(redactor: redactor, maxContentBytes: 300, maxInputBytes: 200)
    static let full = MessageSanitizer(redactor: redactor)
    static let interval = Duration.milliseconds(500)

    /// Whole secrets, one of each format the Redactor knows.
    static let tokens = [
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "glpat-" + "xY7zW3vU9tS1rQ5pO2nM",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xapp-1-A0123456789-1234567890123-abcdef0123456789",
        "npm_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5",
        "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "sk-proj-" + "Ab9Cd8Ef7Gh6Ij5Kl4Mn3Op2Qr1St0Uv",
        "sk-ant-api03-" + "Xy1Zw2Vu3Ts4Rq5Po6Nm7Lk8Ji9Hg0Fe",
        "AIza" + "SyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R",
        "sk_live_" + "51Hx2Yz3Wv4Ut5Sr6Qp7On8Ml",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----",
    ]
    /// A secret value and the context that makes it one.
    static let value = "Vq7Zx2Lp9Wm4"
    static let contexts: [(before: String, after: String)] = [
        ("password=", ""), ("export DB_PASSWORD=", ""), ("AWS_SECRET_ACCESS_KEY=", ""), (#""api_key": ""#, #"""#),
        ("--password ", ""), ("--token=", ""), ("mysql -u root -p", " db"), ("Authorization: Bearer ", ""),
        (#""Authorization": "Token "#, #"""#), ("Cookie: session=", ""), ("https://deploy:", "@example.com/x"),
        ("curl -u admin:", " https://x"),
    ]
    /// Around an insertion: what a secret meets in real output.
    static let separators: [String] = [" ", "\n", "\t", "\"", "'", "(", ")", ",", ";", "<", ">", "`", "[", "]"]

    let bytes: [UInt8]
    var random: SplitMix64

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        random = SplitMix64(seed: hash)
    }

    mutating func run() {
        parseAndSanitize()
        // A line longer than SecretTail's bound may let a split secret out (documented): stay below it.
        insertSecret(into: String(decoding: bytes.prefix(3000), as: UTF8.self))
    }

    // MARK: 1. Parsers, throttle, limits

    mutating func parseAndSanitize() {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        _ = lines.first.flatMap(SessionFormat.init(firstLine:))
        for format in SessionFormat.allCases {
            var parser = format.parser()
            var events = lines.flatMap { parser.parse(line: $0) }
            events += parser.finish()
            var throttle = TextThrottle<FuzzInstant>(interval: Self.interval)
            var now = FuzzInstant.zero
            var texts = ""
            var outputs: [TextThrottle<FuzzInstant>.Output] = []
            for event in events {
                if case .text(let text) = event { texts += text }
                now = now.advanced(by: .milliseconds(Int(random.next() % 700)))
                outputs += throttle.receive(event, at: now)
            }
            outputs += throttle.flush()
            let thrown = outputs.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
            guard thrown == texts else { fatalError("the throttle changed the text: \(texts.debugDescription) → \(thrown.debugDescription)") }
            for output in outputs { checkLimits(Self.small.clean(message(output))) }
        }
    }

    func message(_ output: TextThrottle<FuzzInstant>.Output) -> TaskMessagePayload {
        var message = TaskMessagePayload(seq: 1, type: .text)
        switch output {
        case .text(let text): message.content = text
        case .thinking(let text): message.type = .thinking; message.content = text
        case .event(.toolUse(let tool, let input, let callID)):
            message.type = .toolUse
            (message.tool, message.input, message.callID) = (tool, input, callID)
        case .event(.toolResult(let output, let callID, let isError)):
            message.type = .toolResult
            (message.output, message.callID, message.isError) = (output, callID, isError)
        case .event(.error(let text)): message.type = .error; message.content = text
        case .event(.progress(let summary, _, _)): message.content = summary
        case .event(.text), .event(.thinking), .event(.finished), .event(.session), .event(.usage): break
        }
        return message
    }

    func checkLimits(_ message: TaskMessagePayload) {
        let limits = Self.small
        for text in [message.content, message.output].compactMap({ $0 }) where text.utf8.count > limits.maxContentBytes {
            fatalError("a text of \(text.utf8.count) bytes passed the \(limits.maxContentBytes)-byte limit")
        }
        for name in [message.tool, message.callID].compactMap({ $0 }) where name.count > limits.maxNameCharacters {
            fatalError("a name of \(name.count) characters")
        }
        if let input = message.input {
            let json = input.compactJSON
            let truncated = if case .object(let members) = input { members["truncated"] == .bool(true) } else { false }
            if json.utf8.count > limits.maxInputBytes, !truncated || json.utf8.count > 4096 + 64 {
                fatalError("a tool input of \(json.utf8.count) bytes passed the limit")
            }
            if json.contains("\\u0000") { fatalError("NUL in a tool input") }
        }
        for text in [message.content, message.output, message.tool, message.callID].compactMap({ $0 }) where text.contains("\u{0}") {
            fatalError("NUL in a message")
        }
    }

    // MARK: 2. A known secret, inserted

    mutating func insertSecret(into text: String) {
        let (secret, inserted, isToken) = pickSecret()
        let scalars = Array(text.unicodeScalars)
        let at = scalars.isEmpty ? 0 : Int(random.next() % UInt64(scalars.count + 1))
        var prefix = String.UnicodeScalarView(scalars[..<at])
        prefix.append(contentsOf: pick(Self.separators).unicodeScalars)
        var suffix = String.UnicodeScalarView(pick(Self.separators).unicodeScalars)
        suffix.append(contentsOf: scalars[at...])
        let (before, after) = (String(prefix), String(suffix))
        let whole = before + inserted + after
        // The fuzzer may write the secret itself, where it is none (`xghp_…`): that many may stay.
        let allowed = occurrences(of: secret, in: before) + occurrences(of: secret, in: after)

        let redacted = Self.redactor.redact(whole)
        check(redacted, secret, allowed, "redact")

        // In a tool input: in a value, in a key, under a key that names a secret, as a key.
        var members: [String: JSONValue] = [:]
        members["command"] = .string(whole)
        members[whole] = .string(before)
        members["db_password"] = .string(secret + after)
        if isToken { members[secret] = .string(after) }
        let input = Self.full.clean(JSONValue.object(members))
        check(strings(in: input).joined(separator: "\u{1}"), secret, allowed * 3, "tool input")

        // Streamed in random chunks, a timed flush after each.
        var throttle = TextThrottle<FuzzInstant>(interval: Self.interval)
        var now = FuzzInstant.zero
        var sent: [String] = []
        let all = Array(whole.unicodeScalars)
        var start = 0
        while start < all.count {
            let end = min(all.count, start + 1 + Int(random.next() % 48))
            now = now.advanced(by: Self.interval)
            for case .text(let text) in throttle.receive(.text(String(String.UnicodeScalarView(all[start..<end]))), at: now) {
                sent.append(Self.full.clean(text))
            }
            start = end
        }
        for case .text(let text) in throttle.flush() { sent.append(Self.full.clean(text)) }
        check(sent.joined(), secret, allowed, "throttled text")
    }

    mutating func pickSecret() -> (secret: String, inserted: String, isToken: Bool) {
        if random.next() % 3 == 0 {
            let context = pick(Self.contexts)
            return (Self.value, context.before + Self.value + context.after, false)
        }
        let token = pick(Self.tokens)
        return (token, token, true)
    }

    func check(_ output: String, _ secret: String, _ allowed: Int, _ what: String) {
        let count = occurrences(of: secret, in: output)
        if count > allowed {
            var around = ""
            if let found = output.range(of: secret) {
                let start = output.index(found.lowerBound, offsetBy: -80, limitedBy: output.startIndex) ?? output.startIndex
                around = String(output[start..<found.upperBound])
            }
            fatalError("\(what): the secret \(secret.debugDescription) got through (\(count) > \(allowed)) in …\(around.debugDescription)")
        }
    }

    /// Occurrences of `needle`'s UTF-8 bytes (String.contains compares characters,
    /// and a combining mark after a secret would hide it).
    func occurrences(of needle: String, in haystack: String) -> Int {
        let needle = Array(needle.utf8)
        let haystack = Array(haystack.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return 0 }
        var count = 0
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { count += 1 }
        }
        return count
    }

    func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): [text]
        case .array(let values): values.flatMap(strings)
        case .object(let members): members.flatMap { [$0.key] + strings(in: $0.value) }
        case .null, .bool, .number: []
        }
    }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
}

struct FuzzInstant: InstantProtocol, Sendable {
    static let zero = FuzzInstant(offset: .zero)
    var offset: Duration
    func advanced(by duration: Duration) -> FuzzInstant { FuzzInstant(offset: offset + duration) }
    func duration(to other: FuzzInstant) -> Duration { other.offset - offset }
    static func < (a: FuzzInstant, b: FuzzInstant) -> Bool { a.offset < b.offset }
}
