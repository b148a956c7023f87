import AgentLiveWire

/// Makes a message acceptable to the server whatever the agent printed: the
/// server's size limits (too big → truncated with a note, rather than a batch
/// the server would refuse forever), no NUL characters (PostgreSQL cannot
/// store them), and redaction of secrets in every string.
struct MessageSanitizer: Sendable {
    var redactor: Redactor
    var maxContentBytes = 1 << 20
    var maxInputBytes = 256 << 10

    func clean(_ text: String) -> String {
        redactor.redact(text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text)
    }

    func clean(_ message: TaskMessagePayload) -> TaskMessagePayload {
        var message = message
        message.content = message.content.map { truncated(clean($0)) }
        message.output = message.output.map { truncated(clean($0)) }
        message.tool = message.tool.map { String(clean($0).prefix(200)) }
        message.callID = message.callID.map { String($0.prefix(200)) }
        if let input = message.input {
            let cleaned = clean(input)
            message.input = cleaned.compactJSON.utf8.count <= maxInputBytes
                ? cleaned : .object(["truncated": .bool(true), "preview": .string(truncated(cleaned.compactJSON, to: 4096))])
        }
        return message
    }

    func clean(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(clean(text))
        case .array(let values): .array(values.map(clean))
        // Two keys may redact to the same text: one of them is kept rather than trapping.
        case .object(let members): .object(Dictionary(members.map { (clean($0.key), clean($0.value)) }, uniquingKeysWith: { first, _ in first }))
        case .null, .bool, .number: value
        }
    }

    func truncated(_ text: String, to limit: Int? = nil) -> String {
        let limit = limit ?? maxContentBytes
        guard text.utf8.count > limit else { return text }
        let note = "\n[truncated by agentlive-daemon: \(text.utf8.count) bytes in all]"
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: limit - note.utf8.count - 8)
        while end.samePosition(in: text.unicodeScalars) == nil { end = text.utf8.index(before: end) }
        return String(text[..<end]) + note
    }
}
