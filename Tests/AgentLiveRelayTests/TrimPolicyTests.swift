@testable import AgentLiveRelay
import Testing

@Suite struct TrimPolicyTests {
    /// The policy's answer to each tick, a second apart.
    func answers(_ ticks: [TrimPolicy.Tick], _ policy: TrimPolicy) -> [Bool] {
        var policy = policy
        let start = ContinuousClock.now
        return ticks.enumerated().map { policy.tick($1, now: start + .seconds($0)) }
    }

    /// Ticks of (published bytes, queued frames) with 10 connections all along.
    func traffic(_ ticks: [(Int, Int)]) -> [TrimPolicy.Tick] {
        ticks.map { TrimPolicy.Tick(published: $0.0, queued: $0.1, connections: 10, peakConnections: 10) }
    }

    /// Ticks of (connections now, the most since the last tick), nothing sent.
    func connections(_ ticks: [(Int, Int)]) -> [TrimPolicy.Tick] {
        ticks.map { TrimPolicy.Tick(connections: $0.0, peakConnections: $0.1) }
    }

    @Test func trimsOnceABigBurstIsOverAndNotAgainSoon() {
        let policy = TrimPolicy(threshold: 100, minInterval: .seconds(5))
        let ticks = traffic([
            (80, 3), (80, 0),  // still sending
            (0, 2),  // still queued
            (0, 0),  // over: trim
            (0, 0),  // nothing new
            (200, 0), (0, 0),  // a burst too soon after the last trim
            (0, 0), (0, 0),  // 5 s later
        ])
        #expect(answers(ticks, policy) == [false, false, false, true, false, false, false, false, true])
    }

    @Test func smallTrafficNeverTrims() {
        let policy = TrimPolicy(threshold: 100, minInterval: .seconds(5))
        #expect(answers(traffic([(50, 0), (0, 0), (0, 0), (30, 0), (0, 0)]), policy) == [false, false, false, false, false])
    }

    @Test func trimsOnceManyConnectionsHaveGoneAndNoMoreAreClosing() {
        let policy = TrimPolicy(threshold: 1 << 30, connectionsGone: 100, minInterval: .seconds(5))
        let ticks = connections([
            (500, 500), (500, 500),  // held
            (300, 500),  // closing
            (50, 300),  // still closing
            (50, 50),  // over: trim
            (50, 50),  // nothing new
        ])
        #expect(answers(ticks, policy) == [false, false, false, false, true, false])
    }

    @Test func aPeakBetweenTwoTicksCountsAndFewConnectionsGoneDoNot() {
        let policy = TrimPolicy(threshold: 1 << 30, connectionsGone: 100, minInterval: .seconds(5))
        // 30 connections came and went within ticks: not worth a trim; then 150
        // came and went between two ticks, seen only as the peak.
        let ticks = connections([(10, 10), (10, 40), (10, 10), (10, 160), (10, 10)])
        #expect(answers(ticks, policy) == [false, false, false, true, false])
    }

    @Test func connectionsClosingDuringATrimIntervalAreTrimmedAfterIt() {
        let policy = TrimPolicy(threshold: 1 << 30, connectionsGone: 100, minInterval: .seconds(5))
        let ticks = connections([
            (400, 400), (200, 400), (200, 200),  // trim at 2 s
            (50, 200), (50, 50), (50, 50),  // 150 more gone, too soon
            (50, 50), (50, 50),  // 7 s: trim
        ])
        #expect(answers(ticks, policy) == [false, false, true, false, false, false, false, true])
    }
}
