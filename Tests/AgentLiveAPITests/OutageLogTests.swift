@testable import AgentLiveAPI
import Testing

@Suite struct OutageLogTests {
    let start = ContinuousClock.now

    @Test("The first failure is logged with its reason, the next ones only in a summary")
    func firstFailureThenSilence() {
        var log = OutageLog(summaryInterval: .seconds(5))
        #expect(log.failed("connection refused", at: start) == .unavailable(reason: "connection refused"))
        for millisecond in stride(from: 10, to: 5000, by: 10) {
            #expect(log.failed("connection refused", at: start + .milliseconds(millisecond)) == nil)
        }
        #expect(log.isDown)
    }

    @Test("Every interval, a summary counts the requests answered 503 since the last line")
    func summaries() {
        var log = OutageLog(summaryInterval: .seconds(5))
        _ = log.failed("down", at: start)
        for second in 1...4 { #expect(log.failed("down", at: start + .seconds(second)) == nil) }
        #expect(log.failed("down", at: start + .seconds(5)) == .stillUnavailable(failures: 5, seconds: 5))
        #expect(log.failed("down", at: start + .seconds(6)) == nil)
        #expect(log.failed("down", at: start + .seconds(12)) == .stillUnavailable(failures: 2, seconds: 7))
    }

    @Test("Recovery is logged once, with the outage's length and its failures in all")
    func recovery() {
        var log = OutageLog(summaryInterval: .seconds(5))
        #expect(log.succeeded(at: start) == nil, "nothing to say while the database is up")
        _ = log.failed("down", at: start)
        _ = log.failed("down", at: start + .seconds(2))
        _ = log.failed("down", at: start + .seconds(6))
        #expect(log.succeeded(at: start + .seconds(8)) == .available(seconds: 8, failures: 3))
        #expect(!log.isDown)
        #expect(log.succeeded(at: start + .seconds(9)) == nil)
        #expect(log.failed("again", at: start + .seconds(10)) == .unavailable(reason: "again"))
    }

    @Test("The lines say what happened in words an operator can grep")
    func messages() {
        #expect(OutageLog.Line.stillUnavailable(failures: 12, seconds: 5).message
            == "database still unavailable, 12 requests answered 503 in the last 5 s")
        #expect(OutageLog.Line.unavailable(reason: "x").message.hasPrefix("database unavailable"))
        #expect(OutageLog.Line.available(seconds: 3, failures: 1).message
            == "database available again after 3 s, 1 request answered 503")
    }
}
