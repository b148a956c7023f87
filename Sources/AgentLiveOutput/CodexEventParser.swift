import AgentLiveWire

/// OpenAI Codex CLI's `codex exec --json`: thread/turn events and the items of a
/// turn (`item.started`, `item.updated`, `item.completed`).
///
/// - agent_message → text; the last one is the task's output.
/// - command_execution → a `shell` tool call when it starts, its result (the
///   aggregated output, an error when the exit code is not 0) when it completes.
/// - file_change → an `apply_patch` call and its result; mcp_tool_call →
///   `mcp__server__tool` calls; web_search → `web_search` calls.
/// - todo_list → progress; error items and `turn.failed` → errors.
/// - reasoning (a summary of the model's reasoning) → thinking.
/// - `thread.started` names the session (its `thread_id`, which `codex exec
///   resume` takes); `turn.completed` carries the turn's token usage, summed
///   over the turns of the run.
public struct CodexEventParser: SessionParser {
    private var startedCalls: Set<String> = []
    private var usage: TaskUsage?
    private var lastMessage: String?
    private var lastError: String?
    private var ended = false

    public init() {}

    public mutating func parse(line: String) -> [AgentEvent] {
        guard let object = jsonObject(line) else { return [] }
        switch object["type"]?.string {
        case "item.started": return started(object["item"]?.object ?? [:])
        case "item.updated": return updated(object["item"]?.object ?? [:])
        case "item.completed": return completed(object["item"]?.object ?? [:])
        case "turn.started":
            lastMessage = nil
            return []
        case "thread.started":
            return object["thread_id"]?.string.map { [.session(id: $0)] } ?? []
        case "turn.completed":
            ended = true
            return addUsage(object["usage"]?.object) + [.finished(.completed(output: lastMessage))]
        case "turn.failed":
            ended = true
            let error = object["error"]?.object?["message"]?.string ?? "the turn failed"
            // The same failure often arrives as an `error` event first.
            return (error == lastError ? [] : [.error(error)]) + [.finished(.failed(error: error))]
        case "error":
            return reportError(object["message"]?.string)
        default:
            return []
        }
    }

    public mutating func finish() -> [AgentEvent] {
        ended ? [] : [.finished(.failed(error: "the agent exited without finishing its turn"))]
    }

    private mutating func addUsage(_ turn: [String: JSONValue]?) -> [AgentEvent] {
        guard let turn else { return [] }
        var total = usage ?? TaskUsage(inputTokens: 0, outputTokens: 0, cacheReadTokens: 0)
        total.inputTokens = total.inputTokens.saturatingAdding(turn["input_tokens"]?.int64 ?? 0)
        total.outputTokens = total.outputTokens.saturatingAdding(turn["output_tokens"]?.int64 ?? 0)
        total.cacheReadTokens = total.cacheReadTokens.saturatingAdding(turn["cached_input_tokens"]?.int64 ?? 0)
        usage = total
        return [.usage(total)]
    }

    private mutating func reportError(_ message: String?) -> [AgentEvent] {
        guard let message else { return [] }
        lastError = message
        return [.error(message)]
    }

    private mutating func started(_ item: [String: JSONValue]) -> [AgentEvent] {
        switch item["type"]?.string {
        case "command_execution", "mcp_tool_call", "web_search": return call(item)
        case "todo_list": return todo(item)
        default: return []
        }
    }

    private func updated(_ item: [String: JSONValue]) -> [AgentEvent] {
        item["type"]?.string == "todo_list" ? todo(item) : []
    }

    private mutating func completed(_ item: [String: JSONValue]) -> [AgentEvent] {
        let id = item["id"]?.string
        let failed = item["status"]?.string == "failed"
        switch item["type"]?.string {
        case "agent_message":
            guard let text = item["text"]?.string else { return [] }
            lastMessage = text
            return [.text(text)]
        case "reasoning":
            return item["text"]?.string.map { [.thinking($0)] } ?? []
        case "command_execution":
            let exitCode = item["exit_code"]?.int
            return call(item) + [.toolResult(
                output: item["aggregated_output"]?.string ?? "", callID: id,
                isError: item["status"]?.string != "completed" || (exitCode.map { $0 != 0 } ?? false))]
        case "file_change":
            let changes = (item["changes"]?.array ?? []).compactMap(\.object).map {
                "\($0["kind"]?.string ?? "change") \($0["path"]?.string ?? "?")"
            }
            return call(item) + [.toolResult(output: changes.joined(separator: "\n"), callID: id, isError: failed)]
        case "mcp_tool_call":
            let error = item["error"]?.object?["message"]?.string
            let result = ClaudeStreamParser.text(of: item["result"]?.object?["content"])
            return call(item) + [.toolResult(output: error ?? result, callID: id, isError: failed || error != nil)]
        case "web_search":
            return call(item) + [.toolResult(output: "", callID: id, isError: failed)]
        case "todo_list":
            return todo(item)
        case "error":
            return reportError(item["message"]?.string)
        default:
            return []
        }
    }

    /// The tool call for an item, once, whether or not its start was seen.
    private mutating func call(_ item: [String: JSONValue]) -> [AgentEvent] {
        let id = item["id"]?.string ?? ""
        guard startedCalls.insert(id).inserted else { return [] }
        let (tool, input): (String, JSONValue) =
            switch item["type"]?.string {
            case "command_execution": ("shell", .object(["command": item["command"] ?? .null]))
            case "file_change": ("apply_patch", .object(["changes": item["changes"] ?? .array([])]))
            case "web_search": ("web_search", .object(["query": item["query"] ?? .null]))
            default:
                ("mcp__\(item["server"]?.string ?? "")__\(item["tool"]?.string ?? "")", item["arguments"] ?? .object([:]))
            }
        return [.toolUse(tool: tool, input: input, callID: id)]
    }

    private func todo(_ item: [String: JSONValue]) -> [AgentEvent] {
        let items = (item["items"]?.array ?? []).compactMap(\.object).map {
            TodoItem(text: $0["text"]?.string ?? "", done: $0["completed"]?.bool ?? false)
        }
        return progress(fromTodos: items).map { [$0] } ?? []
    }
}
