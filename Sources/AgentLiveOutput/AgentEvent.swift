import AgentLiveWire

/// What an agent did, as the runtimes read it from the agent's output, before
/// throttling, redaction and numbering turn it into task messages.
public enum AgentEvent: Equatable, Sendable {
    case text(String)
    /// The model's reasoning as the agent shows it (Claude thinking blocks, Codex
    /// reasoning items, opencode reasoning parts): sent as `thinking` messages.
    case thinking(String)
    case toolUse(tool: String, input: JSONValue?, callID: String?)
    case toolResult(output: String, callID: String?, isError: Bool)
    case error(String)
    case progress(summary: String, step: Int?, total: Int?)
    /// The agent's own session id, which a later run can resume.
    case session(id: String)
    /// What the run has used so far, as a running total (the latest one counts).
    case usage(TaskUsage)
    /// The agent's own final word (Claude's `result`, Codex's end of turn).
    case finished(Outcome)
}

public enum Outcome: Equatable, Sendable {
    case completed(output: String?)
    case failed(error: String)
}

/// Turns one line of an agent's JSON output into events. Parsers keep state
/// across lines (which messages were streamed, the last text, open tool calls).
public protocol SessionParser {
    mutating func parse(line: String) -> [AgentEvent]
    /// Called at the end of the output, for what only the end reveals.
    mutating func finish() -> [AgentEvent]
}

extension SessionParser {
    public mutating func finish() -> [AgentEvent] { [] }
}

struct TodoItem {
    var text: String
    var done: Bool
    var active = false
}

/// A todo list (Claude's TodoWrite, Codex's todo_list) as progress: the step is
/// the number done, the summary what is being done now (else what comes next).
func progress(fromTodos todos: [TodoItem]) -> AgentEvent? {
    guard !todos.isEmpty else { return nil }
    let summary = todos.first(where: \.active)?.text
        ?? todos.first(where: { !$0.done })?.text
        ?? "All tasks completed"
    return .progress(summary: summary, step: todos.filter(\.done).count, total: todos.count)
}
