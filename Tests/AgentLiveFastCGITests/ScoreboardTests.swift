@testable import AgentLiveFastCGI
import Testing

#if canImport(Glibc)
import Glibc
#endif

let testLayout = ScoreboardLayout(routes: [
    .init(method: "GET", pattern: "/api/health"),
    .init(method: "POST", pattern: "/api/daemon/tasks/{id}/messages"),
])

@Suite struct ScoreboardLayoutTests {
    @Test("Every counter of a slot has a word of its own, and slots fill whole cache lines")
    func wordsDoNotOverlap() {
        let layout = testLayout
        var words = Set<Int>([ScoreboardLayout.stateWord, ScoreboardLayout.pidWord])
        var total = 2
        for counter in ScoreboardLayout.Counter.allCases { words.insert(counter.rawValue); total += 1 }
        for route in 0..<layout.routeCount {
            for status in 0..<layout.statusCount { words.insert(layout.requestWord(route: route, statusIndex: status)); total += 1 }
            for bucket in 0..<layout.bucketCount { words.insert(layout.bucketWord(route: route, bucket: bucket)); total += 1 }
            words.insert(layout.sumWord(route: route))
            total += 1
        }
        #expect(words.count == total)
        #expect(words.max()! < layout.slotWords)
        #expect(layout.slotWords % 8 == 0)
    }

    @Test("Unknown statuses and durations beyond the last bound fall in the last index")
    func indexesOfStatusesAndBuckets() {
        let layout = testLayout
        #expect(layout.statusIndex(200) == 0)
        #expect(layout.statusIndex(299) == ScoreboardLayout.statuses.count)
        #expect(layout.bucketIndex(seconds: 0.0005) == 0)
        #expect(layout.bucketIndex(seconds: 0.0006) == 1)
        #expect(layout.bucketIndex(seconds: 11) == ScoreboardLayout.bucketBounds.count)
    }

    @Test("Another route table gives another fingerprint")
    func fingerprintFollowsTheRoutes() {
        let other = ScoreboardLayout(routes: [.init(method: "GET", pattern: "/api/health")])
        #expect(other.fingerprint != testLayout.fingerprint)
        #expect(ScoreboardLayout(routes: testLayout.routes).fingerprint == testLayout.fingerprint)
    }
}

@Suite struct ScoreboardTests {
    @Test("What a worker writes through its own mapping of the descriptor, the supervisor reads")
    func writesThroughAnotherMappingAreSeen() throws {
        let scoreboard = try Scoreboard.create(layout: testLayout, slots: 4)
        defer { close(scoreboard.fd) }
        let attached = try Scoreboard.attach(fd: scoreboard.fd, layout: testLayout)
        #expect(attached.slotCount == 4)
        let slot = try #require(attached.slot(2))
        slot.set(.busy)
        slot.record(route: 1, status: 200, duration: .milliseconds(3))
        slot.record(route: 1, status: 200, duration: .milliseconds(30))
        slot.record(route: 7, status: 418, duration: .microseconds(100))
        slot.add(.messagesIngested, 5)

        let words = scoreboard.read(slot: 2)
        #expect(words[ScoreboardLayout.stateWord] == ScoreboardLayout.State.busy.rawValue)
        #expect(words[testLayout.requestWord(route: 1, statusIndex: 0)] == 2)
        #expect(words[testLayout.requestWord(route: testLayout.otherRoute, statusIndex: ScoreboardLayout.statuses.count)] == 1)
        #expect(words[testLayout.bucketWord(route: 1, bucket: testLayout.bucketIndex(seconds: 0.003))] == 1)
        #expect(words[testLayout.bucketWord(route: 1, bucket: testLayout.bucketIndex(seconds: 0.03))] == 1)
        #expect(words[testLayout.sumWord(route: 1)] == 33_000_000)
        #expect(words[ScoreboardLayout.Counter.messagesIngested.rawValue] == 5)
        #expect(scoreboard.read(slot: 1).allSatisfy { $0 == 0 })
    }

    @Test("A worker of another build refuses the scoreboard rather than write to the wrong counters")
    func anotherLayoutIsRefused() throws {
        let scoreboard = try Scoreboard.create(layout: testLayout, slots: 2)
        defer { close(scoreboard.fd) }
        let other = ScoreboardLayout(routes: [.init(method: "GET", pattern: "/api/health")])
        #expect(throws: Scoreboard.Failure.self) { try Scoreboard.attach(fd: scoreboard.fd, layout: other) }
        #expect(scoreboard.slot(2) == nil)
    }
}

@Suite struct PoolMetricsTests {
    @Test("Totals keep the counts of workers that exited, so counters never go back when a slot is reused")
    func retiredCountsAreKept() throws {
        let metrics = PoolMetrics(scoreboard: try Scoreboard.create(layout: testLayout, slots: 2))
        defer { close(metrics.scoreboard.fd) }
        let word = testLayout.requestWord(route: 0, statusIndex: 0)

        let first = try #require(metrics.takeSlot())
        metrics.spawned(100, slot: first)
        metrics.scoreboard.slot(first)!.record(route: 0, status: 200, duration: .milliseconds(1))
        metrics.scoreboard.slot(first)!.set(.idle)
        #expect(metrics.snapshot().counts[word] == 1)
        #expect(metrics.snapshot().idle == 1)

        metrics.exited(100, restarted: true)
        let reused = try #require(metrics.takeSlot())
        #expect(reused == first)
        metrics.spawned(101, slot: reused)
        metrics.scoreboard.slot(reused)!.record(route: 0, status: 200, duration: .milliseconds(1))
        let snapshot = metrics.snapshot()
        #expect(snapshot.counts[word] == 2)
        #expect(snapshot.restarts == 1)
        #expect(snapshot.starting == 1)
        #expect(snapshot.idle == 0)
    }

    @Test("Busy and idle count the live workers only; a slot whose spawn failed is free again")
    func statesCountLiveWorkers() throws {
        let metrics = PoolMetrics(scoreboard: try Scoreboard.create(layout: testLayout, slots: 2))
        defer { close(metrics.scoreboard.fd) }
        let a = try #require(metrics.takeSlot())
        let b = try #require(metrics.takeSlot())
        #expect(metrics.takeSlot() == nil)
        metrics.spawned(200, slot: a)
        metrics.spawned(nil, slot: b)
        metrics.scoreboard.slot(a)!.set(.busy)
        let snapshot = metrics.snapshot()
        #expect((snapshot.busy, snapshot.idle, snapshot.starting) == (1, 0, 0))
        #expect(metrics.takeSlot() == b)
        metrics.exited(200, restarted: false)
        #expect(metrics.snapshot().busy == 0)
        #expect(metrics.snapshot().restarts == 0)
    }
}
