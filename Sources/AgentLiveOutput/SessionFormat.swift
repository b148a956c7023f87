/// The JSON-lines formats of the agent CLIs the daemon reads, told apart by the
/// first line (a recorded session says which tool wrote it).
public enum SessionFormat: Sendable, Equatable, CaseIterable {
    case claude, codex

    public init?(firstLine: String) {
        switch jsonObject(firstLine)?["type"]?.string {
        case "system", "assistant", "user", "stream_event", "result": self = .claude
        case let type? where type.hasPrefix("thread.") || type.hasPrefix("turn.") || type.hasPrefix("item."): self = .codex
        default: return nil
        }
    }

    public func parser() -> any SessionParser {
        switch self {
        case .claude: ClaudeStreamParser()
        case .codex: CodexEventParser()
        }
    }
}
