@testable import AgentLiveDaemon
import Logging
import Synchronization
import Testing

/// Keeps what reaches it, as a log file would.
final class RecordingLogHandler: LogHandler, Sendable {
    let lines = Mutex<[String]>([])
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) {
        let metadata = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        lines.withLock { $0.append(([event.message.description] + metadata).joined(separator: " ")) }
    }
}

@Suite struct EscapingLogHandlerTests {
    @Test func valuesFromOutsideCannotForgeALogLineOrDriveTheTerminal() {
        let recorder = RecordingLogHandler()
        let logger = Logger(label: "test") { _ in EscapingLogHandler(recorder) }
        let title = "Fix it\n2026-12-02T07:00:00+0000 info agentlive.daemon : task ended\r\u{1B}[2J\u{2028}\u{85}\u{7}"
        logger.info("task started", metadata: ["title": "\(title)"])
        logger.error("the server refused a batch: \(title)")
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.count == 2)
        for line in lines {
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" })
        }
        #expect(lines[0] == #"task started title=Fix it\n2026-12-02T07:00:00+0000 info agentlive.daemon : task ended\r\u{1b}[2J\u{2028}\u{85}\u{7}"#)
    }

    @Test func aBackslashIsDoubledSoAnEscapeAlwaysMeansOneWasMade() {
        #expect(#"C:\new"#.escapedForLog == #"C:\\new"#)
        #expect("plain text, ünïcødé ✓".escapedForLog == "plain text, ünïcødé ✓")
    }
}
