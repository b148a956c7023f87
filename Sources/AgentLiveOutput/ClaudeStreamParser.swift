import AgentLiveWire
import Foundation

/// Claude Code's `--output-format stream-json --verbose` (optionally with
/// `--include-partial-messages`): one JSON object per line.
///
/// - `assistant` messages: text blocks → text, tool_use blocks → tool calls
///   (a TodoWrite call also reports progress).
/// - `user` messages: tool_result blocks → tool results.
/// - `stream_event` lines: text deltas → text as it is written; the complete
///   `assistant` message that follows repeats that text, so its text blocks are
///   skipped for messages that were streamed.
/// - `thinking` blocks (and `thinking_delta` stream events) → thinking;
///   `redacted_thinking` is encrypted and shows nothing.
/// - `system`/`init`: the session id and the model; `result`: the session's
///   outcome, its session id, usage and cost.
public struct ClaudeStreamParser: SessionParser {
    private var streamedMessages: Set<String> = []
    private var sawResult = false
    private var model: String?

    public init() {}

    public mutating func parse(line: String) -> [AgentEvent] {
        guard let object = jsonObject(line) else { return [] }
        switch object["type"]?.string {
        case "system":
            guard object["subtype"]?.string == "init" else { return [] }
            model = object["model"]?.string ?? model
            return object["session_id"]?.string.map { [.session(id: $0)] } ?? []
        case "stream_event": return streamEvent(object["event"]?.object ?? [:])
        case "assistant": return assistant(object["message"]?.object ?? [:])
        case "user": return toolResults(object["message"]?.object ?? [:])
        case "result":
            sawResult = true
            var events: [AgentEvent] = []
            if let id = object["session_id"]?.string { events.append(.session(id: id)) }
            if let usage = usage(object) { events.append(.usage(usage)) }
            return events + result(object)
        default: return []
        }
    }

    public mutating func finish() -> [AgentEvent] {
        sawResult ? [] : [.finished(.failed(error: "the agent exited without a result"))]
    }

    private mutating func streamEvent(_ event: [String: JSONValue]) -> [AgentEvent] {
        switch event["type"]?.string {
        case "message_start":
            if let id = event["message"]?.object?["id"]?.string { streamedMessages.insert(id) }
            return []
        case "content_block_delta":
            let delta = event["delta"]?.object ?? [:]
            switch delta["type"]?.string {
            case "text_delta": return delta["text"]?.string.map { [.text($0)] } ?? []
            case "thinking_delta": return delta["thinking"]?.string.map { [.thinking($0)] } ?? []
            default: return []
            }
        default:
            return []
        }
    }

    private func assistant(_ message: [String: JSONValue]) -> [AgentEvent] {
        let streamed = message["id"]?.string.map(streamedMessages.contains) ?? false
        var events: [AgentEvent] = []
        for block in message["content"]?.array ?? [] {
            guard let block = block.object else { continue }
            switch block["type"]?.string {
            case "text" where !streamed:
                if let text = block["text"]?.string { events.append(.text(text)) }
            case "thinking" where !streamed:
                if let text = block["thinking"]?.string { events.append(.thinking(text)) }
            case "tool_use":
                let name = block["name"]?.string ?? "tool"
                let input = block["input"]
                events.append(.toolUse(tool: name, input: input, callID: block["id"]?.string))
                if name == "TodoWrite", let todos = input?.object?["todos"]?.array {
                    let items = todos.compactMap(\.object).map { todo in
                        let status = todo["status"]?.string
                        let active = status == "in_progress"
                        let text = (active ? todo["activeForm"]?.string : nil) ?? todo["content"]?.string ?? ""
                        return TodoItem(text: text, done: status == "completed", active: active)
                    }
                    if let progress = progress(fromTodos: items) { events.append(progress) }
                }
            default:
                continue
            }
        }
        return events
    }

    private func toolResults(_ message: [String: JSONValue]) -> [AgentEvent] {
        (message["content"]?.array ?? []).compactMap { block in
            guard let block = block.object, block["type"]?.string == "tool_result" else { return nil }
            return .toolResult(
                output: Self.text(of: block["content"]),
                callID: block["tool_use_id"]?.string,
                isError: block["is_error"]?.bool ?? false)
        }
    }

    private func result(_ object: [String: JSONValue]) -> [AgentEvent] {
        let text = object["result"]?.string
        if object["is_error"]?.bool == true || object["subtype"]?.string != "success" {
            let errors = (object["errors"]?.array ?? []).compactMap(\.string).joined(separator: "; ")
            let error = [text, errors, object["subtype"]?.string].compactMap { $0 }.first { !$0.isEmpty } ?? "the agent failed"
            return [.error(error), .finished(.failed(error: error))]
        }
        return [.finished(.completed(output: text))]
    }

    /// `result.usage` (tokens, with the cache apart) and `total_cost_usd`.
    private func usage(_ object: [String: JSONValue]) -> TaskUsage? {
        guard let usage = object["usage"]?.object else { return nil }
        return TaskUsage(
            model: model, inputTokens: usage["input_tokens"]?.int64 ?? 0, outputTokens: usage["output_tokens"]?.int64 ?? 0,
            cacheReadTokens: usage["cache_read_input_tokens"]?.int64,
            cacheWriteTokens: usage["cache_creation_input_tokens"]?.int64,
            costUSD: object["total_cost_usd"]?.double ?? object["cost_usd"]?.double)
    }

    /// A tool result's content is a string or an array of blocks (text, images…).
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let blocks)?:
            return blocks.compactMap { block -> String? in
                guard let object = block.object else { return nil }
                if let text = object["text"]?.string { return text }
                return object["type"]?.string.map { "[\($0)]" }
            }.joined(separator: "\n")
        case nil, .null?: return ""
        case let other?: return other.compactJSON
        }
    }
}
