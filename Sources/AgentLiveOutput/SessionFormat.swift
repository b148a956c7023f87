/// The JSON-lines formats of the agent CLIs the daemon reads, told apart by a
/// session's first JSON line (a recorded session says which tool wrote it).
public enum SessionFormat: Sendable, Equatable, CaseIterable {
    case claude, codex, gemini, opencode

    /// opencode puts a camel-case `sessionID` on every line, Gemini starts with
    /// `init`, Codex's types are dotted.
    public init?(firstLine: String) {
        guard let object = jsonObject(firstLine) else { return nil }
        if object["sessionID"]?.string != nil {
            self = .opencode
            return
        }
        switch object["type"]?.string {
        case "system", "assistant", "user", "stream_event", "result": self = .claude
        case "init": self = .gemini
        case let type? where type.hasPrefix("thread.") || type.hasPrefix("turn.") || type.hasPrefix("item."): self = .codex
        default: return nil
        }
    }

    public func parser() -> any SessionParser {
        switch self {
        case .claude: ClaudeStreamParser()
        case .codex: CodexEventParser()
        case .gemini: GeminiStreamParser()
        case .opencode: OpenCodeEventParser()
        }
    }
}
