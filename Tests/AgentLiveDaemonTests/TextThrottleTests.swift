@testable import AgentLiveDaemon
import AgentLiveWire
import Testing

/// A clock the test moves by hand.
struct ManualInstant: InstantProtocol, Sendable {
    var offset: Duration
    func advanced(by duration: Duration) -> ManualInstant { ManualInstant(offset: offset + duration) }
    func duration(to other: ManualInstant) -> Duration { other.offset - offset }
    static func < (a: ManualInstant, b: ManualInstant) -> Bool { a.offset < b.offset }
}

@Suite struct TextThrottleTests {
    let zero = ManualInstant(offset: .zero)

    @Test func aBurstOfAThousandDeltasInTwoSecondsBecomesAtMostFiveMessages() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        var outputs: [TextThrottle<ManualInstant>.Output] = []
        var input = ""
        for index in 0..<1000 {
            let now = zero.advanced(by: .milliseconds(2 * index))  // 0 … 1998 ms
            let delta = "δ\(index) "
            input += delta
            outputs += throttle.receive(.text(delta), at: now)
            // A timer ticks every 100 ms, as in the daemon.
            if index % 50 == 0 { outputs += throttle.tick(at: now) }
        }
        outputs += throttle.flush()
        let texts = outputs.compactMap { if case .text(let text) = $0 { text } else { nil } }
        #expect(texts.count <= 5)
        #expect(texts.count == outputs.count)
        #expect(texts.joined() == input)
    }

    @Test func toolEventsFlushPendingTextAndKeepTheirOrder() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        var outputs: [TextThrottle<ManualInstant>.Output] = []
        let use = AgentEvent.toolUse(tool: "Bash", input: .object(["command": .string("ls")]), callID: "1")
        let result = AgentEvent.toolResult(output: "a", callID: "1", isError: false)
        outputs += throttle.receive(.text("Let me "), at: zero)
        outputs += throttle.receive(.text("look."), at: zero.advanced(by: .milliseconds(10)))
        outputs += throttle.receive(use, at: zero.advanced(by: .milliseconds(20)))
        outputs += throttle.receive(result, at: zero.advanced(by: .milliseconds(30)))
        outputs += throttle.receive(.text("Done"), at: zero.advanced(by: .milliseconds(40)))
        outputs += throttle.receive(.error("boom"), at: zero.advanced(by: .milliseconds(50)))
        outputs += throttle.flush()
        #expect(outputs == [.text("Let me look."), .event(use), .event(result), .text("Done"), .event(.error("boom"))])
    }

    @Test func textWaitsForTheIntervalThenGoesOnATick() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        #expect(throttle.receive(.text("a\n"), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(499))) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(500))) == [.text("a\n")])
        #expect(throttle.tick(at: zero.advanced(by: .seconds(5))) == [])
        #expect(throttle.flush() == [])
    }
}

@Suite struct SecretsAcrossFlushesTests {
    let zero = ManualInstant(offset: .zero)
    let redactor = try! Redactor()

    static let texts = [
        "Found it.\nexport GITHUB_TOKEN=ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 in .env\nNext line.",
        "curl -H 'Authorization: Bearer abc123def456ghi' https://api.example.com\n",
        "the key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1\nKUpRKfFLfRYC9AIKjbJTWit+Cqvj\n-----END RSA PRIVATE KEY-----\ndone",
        "mysql -u root -pS3cretPw shop; echo ok",
        #"Config: {"db": {"password": "correct horse battery staple and more words"}, "user": "x"} saved."#,
        "Then run it with --password s3cr3t-Value-here and all the other flags we need now.",
    ]

    /// The text cut in two at every position, each part flushed by a timer: what is
    /// sent, each part redacted on its own, is what redacting the whole gives.
    @Test(arguments: texts)
    func aSecretSplitAtAnyPositionByATimedFlushIsStillRedacted(text: String) {
        let scalars = Array(text.unicodeScalars)
        let whole = redactor.redact(text)
        for cut in 1..<scalars.count {
            var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
            var sent: [String] = []
            for case .text(let part) in throttle.receive(.text(String(String.UnicodeScalarView(scalars[..<cut]))), at: zero) {
                sent.append(redactor.redact(part))
            }
            for case .text(let part) in throttle.tick(at: zero.advanced(by: .seconds(1))) { sent.append(redactor.redact(part)) }
            for case .text(let part) in throttle.receive(.text(String(String.UnicodeScalarView(scalars[cut...]))), at: zero.advanced(by: .seconds(2))) {
                sent.append(redactor.redact(part))
            }
            for case .text(let part) in throttle.tick(at: zero.advanced(by: .seconds(3))) { sent.append(redactor.redact(part)) }
            for case .text(let part) in throttle.flush() { sent.append(redactor.redact(part)) }
            #expect(sent.joined() == whole, "cut at \(cut)")
        }
    }

    @Test func completeLinesGoOnTimeAndTheLineBeingWrittenWaits() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        #expect(throttle.receive(.text("first line\nsecond li"), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(500))) == [.text("first line\n")])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(900))) == [])
        #expect(throttle.receive(.text("ne\n"), at: zero.advanced(by: .milliseconds(1000))) == [.text("second line\n")])
        #expect(throttle.flush() == [])
    }

    @Test("Prose streams a few words behind the agent, not a line behind; an open quote holds the line")
    func proseIsHeldOnlyByItsLastWords() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        let words = (1...20).map { "word\($0)" }
        #expect(throttle.receive(.text(words.joined(separator: " ")), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(500))) == [.text(words[..<12].joined(separator: " ") + " ")])
        #expect(throttle.flush() == [.text(words[12...].joined(separator: " "))])
        let quoted = #"{"password": "a b c d e f g h i j k l"#
        #expect(throttle.receive(.text(quoted), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(500))) == [])
    }

    @Test func aHeldLineGoesOnceTheAgentsTextHasBeenQuietForTheHoldLimit() {
        var throttle = TextThrottle<ManualInstant>(interval: .milliseconds(500))
        #expect(throttle.maxHold == .seconds(2))
        #expect(throttle.receive(.text("Thinking"), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(1999))) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(2000))) == [.text("Thinking")])
    }
}
