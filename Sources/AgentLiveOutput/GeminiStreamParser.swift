import AgentLiveWire

/// Gemini CLI's headless `gemini -p … --output-format stream-json`: one JSON
/// event per line (google-gemini/gemini-cli, packages/core/src/output/types.ts).
///
/// - `init`: the session id and the model.
/// - `message`: `role` user is the prompt echoed back, not agent output;
///   assistant messages (usually `delta: true` chunks) → text, which the throttle
///   coalesces. The text since the last tool call is the task's output.
/// - `tool_use` (`tool_name`, `tool_id`, `parameters`) → a tool call;
///   `tool_result` (`tool_id`, `status`, `output`, `error`) → its result, an
///   error when `status` is `error`.
/// - `error` (`severity`, `message`) → an error message; the run may go on.
/// - `result`: `status` success or error (with `error.message`), and `stats`
///   (token counts) → usage.
/// The format carries no thoughts: Gemini's thinking is not in the stream.
public struct GeminiStreamParser: SessionParser {
    private var model: String?
    private var finalMessage = ""
    private var lastError: String?
    private var sawResult = false

    public init() {}

    public mutating func parse(line: String) -> [AgentEvent] {
        guard let object = jsonObject(line) else { return [] }
        switch object["type"]?.string {
        case "init":
            model = object["model"]?.string ?? model
            return object["session_id"]?.string.map { [.session(id: $0)] } ?? []
        case "message":
            guard object["role"]?.string == "assistant", let text = object["content"]?.string else { return [] }
            finalMessage += text
            return [.text(text)]
        case "tool_use":
            finalMessage = ""
            return [.toolUse(
                tool: object["tool_name"]?.string ?? "tool", input: object["parameters"], callID: object["tool_id"]?.string)]
        case "tool_result":
            let failed = object["status"]?.string == "error"
            let errorText = object["error"]?.object?["message"]?.string
            let output = (failed ? errorText ?? object["output"]?.string : object["output"]?.string ?? errorText) ?? ""
            return [.toolResult(output: output, callID: object["tool_id"]?.string, isError: failed)]
        case "error":
            guard let message = object["message"]?.string else { return [] }
            lastError = message
            return [.error(message)]
        case "result":
            sawResult = true
            let used: [AgentEvent] = usage(object["stats"]?.object).map { [.usage($0)] } ?? []
            return used + result(object)
        default:
            return []
        }
    }

    public mutating func finish() -> [AgentEvent] {
        sawResult ? [] : [.finished(.failed(error: "the agent exited without a result"))]
    }

    private func result(_ object: [String: JSONValue]) -> [AgentEvent] {
        guard object["status"]?.string == "success" else {
            let error = object["error"]?.object?["message"]?.string ?? lastError ?? "the agent failed"
            // The failure often arrives as an `error` event first.
            return (error == lastError ? [] : [.error(error)]) + [.finished(.failed(error: error))]
        }
        return [.finished(.completed(output: finalMessage.isEmpty ? nil : finalMessage))]
    }

    /// `stats`: `input_tokens` (the prompt, cached part included), `output_tokens`
    /// and `cached` (the cached part of the input).
    private func usage(_ stats: [String: JSONValue]?) -> TaskUsage? {
        guard let stats else { return nil }
        return TaskUsage(
            model: model, inputTokens: stats["input_tokens"]?.int64 ?? 0, outputTokens: stats["output_tokens"]?.int64 ?? 0,
            cacheReadTokens: stats["cached"]?.int64)
    }
}
