@testable import AgentLiveRelay
import Testing

@Suite struct SubscribeRateLimitTests {
    @Test func aBurstPassesThenTheRateThenRefusalsThenAClose() {
        var limit = SubscribeRateLimit(burst: 3, perSecond: 2, closeAfter: 2)
        let start = ContinuousClock.now
        let r10: [SubscribeRateLimit.Verdict] = (0..<3).map { _ in limit.admit(now: start) }
        #expect(r10 == [.allow, .allow, .allow])
        let r11 = limit.admit(now: start)
        #expect(r11 == .refuse)
        // Half a second later one more token has come.
        let r12 = limit.admit(now: start + .milliseconds(500))
        #expect(r12 == .allow)
        let r13 = limit.admit(now: start + .milliseconds(500))
        #expect(r13 == .refuse)
        let r14 = limit.admit(now: start + .milliseconds(500))
        #expect(r14 == .close)
    }

    @Test func anAdmittedSubscribeForgivesEarlierRefusals() {
        var limit = SubscribeRateLimit(burst: 1, perSecond: 1, closeAfter: 2)
        let start = ContinuousClock.now
        let r15 = limit.admit(now: start)
        #expect(r15 == .allow)
        let r16 = limit.admit(now: start)
        #expect(r16 == .refuse)
        let r17 = limit.admit(now: start + .seconds(1))
        #expect(r17 == .allow)
        let r18 = limit.admit(now: start + .seconds(1))
        #expect(r18 == .refuse)
    }

    @Test func theBucketRefillsNoFurtherThanTheBurst() {
        var limit = SubscribeRateLimit(burst: 2, perSecond: 100, closeAfter: 10)
        let later = ContinuousClock.now + .seconds(3600)
        let r19: [SubscribeRateLimit.Verdict] = (0..<3).map { _ in limit.admit(now: later) }
        #expect(r19 == [.allow, .allow, .refuse])
    }

    @Test func theDefaultBurstCoversAWholePageOfSubscriptions() {
        #expect(SubscribeRateLimit().burst >= Double(ClientSession.maxSubscriptions))
    }
}
