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
        #expect(throttle.receive(.text("a"), at: zero) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(499))) == [])
        #expect(throttle.tick(at: zero.advanced(by: .milliseconds(500))) == [.text("a")])
        #expect(throttle.tick(at: zero.advanced(by: .seconds(5))) == [])
        #expect(throttle.flush() == [])
    }
}
