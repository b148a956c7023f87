@testable import AgentLiveFastCGI
import Logging
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    @Test("A line holds timestamp, level, label, message and metadata, escaped, and ends in a newline")
    func lineIsOneJSONObject() {
        let line = JSONLogHandler.line(
            time: "2026-01-31T23:59:59.123Z", level: .warning, label: "agentlive.api",
            message: "worker \"3\" exited\n\u{1}", metadata: ["pid": "42", "status": "signal 9"])
        #expect(line == #"{"timestamp":"2026-01-31T23:59:59.123Z","level":"warning","label":"agentlive.api","message":"worker \"3\" exited\n\u0001","metadata":{"pid":"42","status":"signal 9"}}"# + "\n")
    }

    @Test("Timestamps are UTC with milliseconds")
    func timestampFormat() {
        #expect(JSONLogHandler.timestamp(seconds: 0, milliseconds: 7) == "1970-01-01T00:00:00.007Z")
        #expect(JSONLogHandler.timestamp(seconds: 1_800_000_000, milliseconds: 450) == "2027-01-15T08:00:00.450Z")
    }

    @Test("A logger writes one line per event, with the logger's metadata and the event's")
    func loggerWritesLines() {
        final class Lines: Sendable { let written = Mutex<[String]>([]) }
        let lines = Lines()
        var logger = Logger(label: "test") { JSONLogHandler(label: $0, write: { line in lines.written.withLock { $0.append(line) } }) }
        logger[metadataKey: "worker"] = "1"
        logger.info("ready", metadata: ["pid": "9"])
        logger.debug("not written at info")
        let written = lines.written.withLock { $0 }
        #expect(written.count == 1)
        #expect(written.first?.contains(#""message":"ready","metadata":{"pid":"9","worker":"1"}}"#) == true)
    }
}
