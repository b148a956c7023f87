@testable import AgentLiveDaemon
import AgentLiveWire
import Testing

@Suite struct ThinkingThrottleTests {
    let zero = ManualInstant(offset: .zero)

    @Test func thinkingIsCoalescedLikeTextButNeverMergedWithIt() {
        var throttle = TextThrottle<ManualInstant>(interval: .seconds(10))
        var outputs: [TextThrottle<ManualInstant>.Output] = []
        outputs += throttle.receive(.thinking("Let me "), at: zero)
        outputs += throttle.receive(.thinking("think."), at: zero)
        #expect(outputs.isEmpty)  // still waiting for more
        outputs += throttle.receive(.text("Done"), at: zero)  // switching kind flushes the thinking
        outputs += throttle.receive(.text("."), at: zero)
        outputs += throttle.receive(.thinking("Again"), at: zero)
        outputs += throttle.flush()
        #expect(outputs == [.thinking("Let me think."), .text("Done."), .thinking("Again")])
    }

    @Test func thinkingBecomesThinkingMessagesInOrder() async throws {
        let pipeline = MessagePipeline(
            buffer: MessageBuffer(limitBytes: .max), sanitizer: MessageSanitizer(redactor: try Redactor()),
            throttleInterval: .seconds(3600))
        for event: AgentEvent in [.thinking("a"), .thinking("b"), .text("c"), .error("e"), .thinking("d")] {
            await pipeline.receive(event)
        }
        pipeline.finish()
        let sent = await pipeline.buffer.nextBatch(maxCount: .max, maxBytes: .max) ?? []
        #expect(sent.map(\.type) == [.thinking, .text, .error, .thinking])
        #expect(sent.map(\.content) == ["ab", "c", "e", "d"])
        #expect(sent.map(\.seq) == [1, 2, 3, 4])
    }
}
