@testable import AgentLiveRelay
import Testing

@Suite struct TrimPolicyTests {
    /// The policy's answer to each (published bytes, queued frames) tick, a second apart.
    func answers(_ ticks: [(Int, Int)], _ policy: TrimPolicy) -> [Bool] {
        var policy = policy
        let start = ContinuousClock.now
        return ticks.enumerated().map { policy.tick(published: $1.0, queued: $1.1, now: start + .seconds($0)) }
    }

    @Test func trimsOnceABigBurstIsOverAndNotAgainSoon() {
        let policy = TrimPolicy(threshold: 100, minInterval: .seconds(5))
        let ticks = [
            (80, 3), (80, 0),  // still sending
            (0, 2),  // still queued
            (0, 0),  // over: trim
            (0, 0),  // nothing new
            (200, 0), (0, 0),  // a burst too soon after the last trim
            (0, 0), (0, 0),  // 5 s later
        ]
        #expect(answers(ticks, policy) == [false, false, false, true, false, false, false, false, true])
    }

    @Test func smallTrafficNeverTrims() {
        let policy = TrimPolicy(threshold: 100, minInterval: .seconds(5))
        #expect(answers([(50, 0), (0, 0), (0, 0), (30, 0), (0, 0)], policy) == [false, false, false, false, false])
    }
}
