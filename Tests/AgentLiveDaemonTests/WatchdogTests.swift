@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct WatchdogTests {
    let dispatch = TaskDispatchPayload(taskID: "w1", issueID: "i1", title: "Hang", description: "")

    func pidFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("agentlive-watchdog-\(UUID().uuidString).pid")
    }

    @Test func anAgentThatGoesSilentIsStoppedAndItsTaskFailedSayingWhichLimit() async throws {
        let server = FakeServer()
        let pids = pidFile()
        // Says one thing, starts a child that would outlive it, then goes silent.
        let agent = ProcessRuntime.command("echo hi; sleep 60 & echo $! > \(pids.path); exec sleep 60")
        let runtime = WatchdogRuntime(agent, idleTimeout: .milliseconds(300), maxDuration: nil)
        await TaskRunnerTests().runner(server, runtime).run(dispatch, stop: StopSignal())
        #expect(server.state.withLock { $0.failed?.error } == "no output for 300ms (--idle-timeout)")
        #expect(server.messages.compactMap(\.content).joined() == "hi\n")
        // The agent's whole process group went with it, the background child too.
        let child = try #require(Int32(String(contentsOf: pids, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(child, 0) != 0 || isZombie(child))
    }

    @Test func anAgentThatTalksButRunsTooLongIsStoppedByTheMaximumDuration() async {
        let server = FakeServer()
        let agent = ProcessRuntime.command("while true; do echo tick; sleep 0.05; done")
        let runtime = WatchdogRuntime(agent, idleTimeout: .seconds(60), maxDuration: .milliseconds(400))
        await TaskRunnerTests().runner(server, runtime).run(dispatch, stop: StopSignal())
        #expect(server.state.withLock { $0.failed?.error } == "ran for 400ms (--max-duration)")
    }

    @Test func anAgentThatFinishesInTimeIsNotTouched() async {
        let server = FakeServer()
        let runtime = WatchdogRuntime(ProcessRuntime.command("echo done"), idleTimeout: .seconds(60), maxDuration: .seconds(60))
        await TaskRunnerTests().runner(server, runtime).run(dispatch, stop: StopSignal())
        #expect(server.state.withLock { $0.completed?.output } == "done\n")
    }

    @Test(arguments: [
        (Duration.seconds(1800), "30m0s"), (.seconds(3600), "1h0m0s"), (.milliseconds(1500), "1.5s"),
        (.milliseconds(300), "300ms"), (.seconds(5415), "1h30m15s"),
    ])
    func durationsArePrintedTheWayTheFlagsAreWritten(duration: Duration, text: String) {
        #expect(goDuration(duration) == text)
    }

    @Test func durationFlagsAcceptGoStyleSecondsAndNone() throws {
        #expect(try parseDuration("30m").get() == .seconds(1800))
        #expect(try parseDuration("1h30m").get() == .seconds(5400))
        #expect(try parseDuration("500ms").get() == .milliseconds(500))
        #expect(try parseDuration("90").get() == .seconds(90))
        #expect(try parseDuration("none").get() == nil)
        #expect(try parseDuration("0").get() == nil)
        #expect(throws: DurationSyntaxError.self) { try parseDuration("soon").get() }
        #expect(throws: DurationSyntaxError.self) { try parseDuration("5x").get() }
    }
}

/// A process that ended but was not reaped yet (its parent is the shell that died).
func isZombie(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let state = stat.split(separator: ")").last?.split(separator: " ").first
    else { return true }
    return state == "Z"
}
