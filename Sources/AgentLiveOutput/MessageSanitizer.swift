import AgentLiveWire

/// Makes a message acceptable to the server whatever the agent printed: the
/// server's size limits (too big → truncated with a note, rather than a batch
/// the server would refuse forever), no NUL characters (PostgreSQL cannot
/// store them), and redaction of secrets in every string, object keys included.
public struct MessageSanitizer: Sendable {
    public var redactor: Redactor
    public var maxContentBytes = 1 << 20
    public var maxInputBytes = 256 << 10
    /// Tool names and call ids, in characters.
    public var maxNameCharacters = 200

    public init(redactor: Redactor, maxContentBytes: Int = 1 << 20, maxInputBytes: Int = 256 << 10) {
        self.redactor = redactor
        self.maxContentBytes = maxContentBytes
        self.maxInputBytes = maxInputBytes
    }

    public func clean(_ text: String) -> String {
        redactor.redact(text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text)
    }

    public func clean(_ message: TaskMessagePayload) -> TaskMessagePayload {
        var message = message
        message.content = message.content.map { truncated(clean($0)) }
        message.output = message.output.map { truncated(clean($0)) }
        message.tool = message.tool.map { String(clean($0).prefix(maxNameCharacters)) }
        message.callID = message.callID.map { String(clean($0).prefix(maxNameCharacters)) }
        if let input = message.input {
            let cleaned = clean(input)
            let json = cleaned.compactJSON
            message.input = json.utf8.count <= maxInputBytes
                ? cleaned : .object(["truncated": .bool(true), "preview": .string(truncated(json, to: 4096))])
        }
        return message
    }

    /// Every string cleaned; the whole value of a key that names a secret redacted.
    public func clean(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(clean(text))
        case .array(let values): .array(values.map(clean))
        case .object(let members): .object(cleanMembers(members, redactingAll: false))
        case .null, .bool, .number: value
        }
    }

    /// A value under a secret's key: every string and number goes.
    private func redactedEntirely(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string, .number: .string(Redactor.replacement)
        case .array(let values): .array(values.map(redactedEntirely))
        case .object(let members): .object(cleanMembers(members, redactingAll: true))
        case .null, .bool: value
        }
    }

    /// Keys are cleaned too, so two keys may become the same (two tokens both
    /// `[redacted]`): the later ones get ` (2)`, ` (3)`… rather than one being lost.
    private func cleanMembers(_ members: [String: JSONValue], redactingAll: Bool) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        result.reserveCapacity(members.count)
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let secret = redactingAll || Redactor.namesSecret(key)
            let cleanedKey = clean(key)
            var uniqueKey = cleanedKey
            var number = 2
            while result[uniqueKey] != nil {
                uniqueKey = "\(cleanedKey) (\(number))"
                number += 1
            }
            result[uniqueKey] = secret ? redactedEntirely(value) : clean(value)
        }
        return result
    }

    /// At most `limit` UTF-8 bytes (maxContentBytes by default), the note included,
    /// cut on a character boundary.
    public func truncated(_ text: String, to limit: Int? = nil) -> String {
        let limit = max(0, limit ?? maxContentBytes)
        guard text.utf8.count > limit else { return text }
        let note = "\n[truncated by agentlive-daemon: \(text.utf8.count) bytes in all]"
        guard limit > note.utf8.count + 8 else { return String(prefixOf: text, bytes: limit) }
        return String(prefixOf: text, bytes: limit - note.utf8.count - 8) + note
    }
}

extension String {
    /// The longest prefix of whole characters within `bytes` UTF-8 bytes.
    init(prefixOf text: String, bytes: Int) {
        var count = 0
        var end = text.startIndex
        for character in text {
            count += character.utf8.count
            if count > bytes { break }
            end = text.index(after: end)
        }
        self = String(text[..<end])
    }
}
