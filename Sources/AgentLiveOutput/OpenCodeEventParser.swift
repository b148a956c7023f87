import AgentLiveWire

/// opencode's `opencode run --format json [--thinking]`: one JSON object per line,
/// `{type, timestamp, sessionID, part}` (sst/opencode, packages/opencode/src/cli/cmd/run.ts).
///
/// - `sessionID` on every line names the session (`opencode run --session` resumes it).
/// - `text` (a finished text part, `part.text`) → text; the last one is the output.
/// - `reasoning` (`part.text`, printed with `--thinking`) → thinking.
/// - `tool_use`: a finished tool part carries the call and its result at once:
///   `part.tool`, `part.callID`, `part.state` {`status` completed|error, `input`,
///   `output`, `error`, `metadata`}. It is an error when the status is `error`,
///   or the metadata says `isError` or a non-zero `exit`.
/// - `step_finish`: `part.tokens` {input, output, reasoning, cache{read, write}}
///   and `part.cost`, summed over the steps → usage (reasoning counts as output).
/// - `error`: `error` {name, data{message}} → an error message, and the run fails.
/// There is no final event: the run ends with its last step.
public struct OpenCodeEventParser: SessionParser {
    private var sessionID: String?
    private var lastText: String?
    private var lastError: String?
    private var finishedSteps = 0
    private var usage = TaskUsage(inputTokens: 0, outputTokens: 0)

    public init() {}

    public mutating func parse(line: String) -> [AgentEvent] {
        guard let object = jsonObject(line) else { return [] }
        var events: [AgentEvent] = []
        if let id = object["sessionID"]?.string, id != sessionID {
            sessionID = id
            events.append(.session(id: id))
        }
        let part = object["part"]?.object ?? [:]
        switch object["type"]?.string {
        case "text":
            if let text = part["text"]?.string, !text.isEmpty {
                lastText = text
                events.append(.text(text))
            }
        case "reasoning":
            if let text = part["text"]?.string, !text.isEmpty { events.append(.thinking(text)) }
        case "tool_use":
            events += tool(part)
        case "step_finish":
            finishedSteps += 1
            events += addUsage(part)
        case "error":
            let error = object["error"]?.object
            let message = error?["data"]?.object?["message"]?.string ?? error?["name"]?.string ?? "the agent failed"
            lastError = message
            events.append(.error(message))
        default:
            break
        }
        return events
    }

    public mutating func finish() -> [AgentEvent] {
        if let lastError { return [.finished(.failed(error: lastError))] }
        guard finishedSteps > 0 else { return [.finished(.failed(error: "the agent exited without finishing a step"))] }
        return [.finished(.completed(output: lastText))]
    }

    private func tool(_ part: [String: JSONValue]) -> [AgentEvent] {
        let state = part["state"]?.object ?? [:]
        let metadata = state["metadata"]?.object ?? [:]
        let exit = metadata["exit"]
        let failed = state["status"]?.string == "error" || metadata["isError"]?.bool == true
            || (exit != nil && exit != .null && exit?.int != 0)
        let output = state["status"]?.string == "error"
            ? state["error"]?.string ?? "" : state["output"]?.string ?? ClaudeStreamParser.text(of: state["output"])
        let callID = part["callID"]?.string
        return [
            .toolUse(tool: part["tool"]?.string ?? "tool", input: state["input"], callID: callID),
            .toolResult(output: output, callID: callID, isError: failed),
        ]
    }

    private mutating func addUsage(_ part: [String: JSONValue]) -> [AgentEvent] {
        guard let tokens = part["tokens"]?.object else { return [] }
        let cache = tokens["cache"]?.object
        usage.inputTokens = usage.inputTokens.saturatingAdding(tokens["input"]?.int64 ?? 0)
        usage.outputTokens = usage.outputTokens
            .saturatingAdding(tokens["output"]?.int64 ?? 0).saturatingAdding(tokens["reasoning"]?.int64 ?? 0)
        usage.cacheReadTokens = usage.cacheReadTokens.saturatingAdding(cache?["read"]?.int64)
        usage.cacheWriteTokens = usage.cacheWriteTokens.saturatingAdding(cache?["write"]?.int64)
        if let cost = part["cost"]?.double, case let total = (usage.costUSD ?? 0) + cost, total.isFinite { usage.costUSD = total }
        return [.usage(usage)]
    }
}
