import AgentLiveWire
import Foundation

/// Replays a recorded Claude Code, Codex, Gemini CLI or opencode session (JSON
/// lines in the tool's own format, recognised from the content) with its original pacing, or `speed` times faster. The pacing is in
/// a sidecar file `<name>.timing`: per line, milliseconds since the line before.
/// The demo and the tests use it, since the real CLIs cannot run everywhere.
public struct ReplayRuntime: AgentRuntime {
    public var session: URL
    public var speed: Double

    public init(session: URL, speed: Double = 1) {
        self.session = session
        self.speed = speed
    }

    public struct UnknownFormat: Error, CustomStringConvertible {
        public var description: String {
            "not a Claude Code stream-json, Codex exec --json, Gemini CLI stream-json or opencode run --format json session"
        }
    }

    public func run(
        _ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Outcome {
        // Split on LF bytes only: U+2028 and CR LF inside a line are not line ends here.
        let lines = try Data(contentsOf: session).split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let delays = (try? String(contentsOf: Self.timingFile(for: session), encoding: .utf8))?
            .split(whereSeparator: \.isNewline).compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? []
        // The first line that is a JSON object decides (a CLI may print a log line first).
        guard let format = lines.lazy.compactMap(SessionFormat.init(firstLine:)).first else { throw UnknownFormat() }
        var parser = format.parser()
        var reading = ProcessRuntime.Reading()
        for (index, line) in lines.enumerated() {
            if index < delays.count, delays[index] > 0, speed > 0 {
                // An hour at most: a huge delay or a tiny speed must not overflow Duration.
                try await Task.sleep(for: .milliseconds(min(Double(delays[index]) / speed, 3_600_000)))
            }
            for event in parser.parse(line: line) { await reading.note(event, emit) }
        }
        for event in parser.finish() { await reading.note(event, emit) }
        // Every parser ends with an outcome (a failure when the session had none).
        return reading.outcome ?? .failed(error: "the session ended without an outcome")
    }

    static func timingFile(for session: URL) -> URL {
        session.deletingPathExtension().appendingPathExtension("timing")
    }
}
