import AgentLiveWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes

extension APIError {
    static let messageTooLarge = APIError(
        .contentTooLarge, "message_too_large", "A message is larger than the configured limit.")
}

extension Validate {
    /// A body may repeat the task id of its path; it must not name another task.
    static func sameTask(_ given: String?, _ task: String) throws(APIError) {
        guard let given else { return }
        guard UUID(uuidString: given)?.uuidString.lowercased() == task else {
            throw .invalidValue("Field 'task_id' does not match the task in the path.")
        }
    }
}

/// The checks on a batch of task messages before it reaches the database, made in
/// one pass over the raw body instead of decoding it into structs. The result is the
/// stored fields of the messages as sent, column by column (`MessageColumns`); ids
/// come from the path, other fields are ignored.
///
/// The answers are those of decoding into `TaskMessageBatch` and checking the values:
/// malformed JSON first (400 `invalid_json`), then missing or mistyped fields (400
/// `invalid_field`), then the batch's size, then each message in order. Where the
/// decoder was silent, the rules are jsonb's (what the database read until the
/// columns went as arrays, and still reads `input` with): a key given twice counts
/// with its last value; what the decoder let pass in fields it skipped (a
/// trailing comma, a control character, invalid UTF-8) is malformed JSON; a `\u0000`
/// anywhere in a message is refused. And `seq` must be written as an integer (`1e2`
/// and `1.0` are not).
struct MessageValidator {
    var configuration: APIConfiguration
    var taskID: String

    func validate(_ body: [UInt8]) throws(APIError) -> MessageColumns {
        try body.withUnsafeBufferPointer { (bytes) throws(APIError) -> MessageColumns in
            var pass = Pass(scanner: JSONScanner(bytes), validator: self)
            let messages = try pass.run()
            return MessageColumns(messages, in: pass.scanner)
        }
    }

    /// One message's fields: the values the rules need, and where the stored ones
    /// stand in the body.
    struct Message {
        var taskID: String?
        var seq: Int64?
        var type: String?
        /// The string fields that are present and not null.
        var content: JSONScanner.StringToken?, output: JSONScanner.StringToken?
        var tool: JSONScanner.StringToken?, callID: JSONScanner.StringToken?
        /// `input`'s JSON text, and its length written compactly and unescaped, when present and not null.
        var input: (range: Range<Int>, size: Int)?
        var isError: Bool?
        /// The first field holding an escaped NUL, which PostgreSQL cannot store.
        var nulField: String?
    }

    private struct Pass {
        var scanner: JSONScanner
        let validator: MessageValidator
        /// Errors by precedence: the first mistyped field; the first rule a message breaks.
        var fieldError: APIError?
        var valueError: APIError?
        var seen = Set<Int64>()
        /// The messages of the (last) `messages` array so far.
        var stored: [Message] = []

        /// Returns the messages of the (last) `messages` array.
        mutating func run() throws(APIError) -> [Message] {
            var messages: Int?
            try members { (pass, key) throws(APIError) in
                if key == "messages" {
                    messages = try pass.messages()
                } else {
                    try pass.scanner.skipValue(depth: 1)
                }
            }
            guard scanner.peek() == nil else { throw JSONScanner.invalid }  // trailing garbage
            guard let messages else { throw fieldError ?? .invalidField("Missing field 'messages'.") }
            if let fieldError { throw fieldError }
            guard messages > 0 else { throw .invalidValue("Field 'messages' must not be empty.") }
            let limit = validator.configuration.maxBatch
            guard messages <= limit else {
                throw APIError(.contentTooLarge, "batch_too_large", "At most \(limit) messages per batch.")
            }
            if let valueError { throw valueError }
            return stored
        }

        /// Reads the members of the object that starts next, calling `member` with
        /// each key when the scanner is at its value.
        mutating func members(_ member: (inout Pass, String) throws(APIError) -> Void) throws(APIError) {
            try scanner.expect(UInt8(ascii: "{"))
            if scanner.take(UInt8(ascii: "}")) { return }
            repeat {
                guard try scanner.nextKind() == .string else { throw JSONScanner.invalid }
                let key = try scanner.string(value: true).value ?? ""
                try scanner.expect(UInt8(ascii: ":"))
                try member(&self, key)
            } while try scanner.more(before: UInt8(ascii: "}"))
        }

        /// Returns how many messages the array holds, nil when it is not an array.
        mutating func messages() throws(APIError) -> Int? {
            guard try scanner.nextKind() == .array else {
                try scanner.skipValue(depth: 1)
                mistyped(nil, nil, "an array")
                return nil
            }
            // A repeated `messages` replaces the one before, as in jsonb.
            seen.removeAll(keepingCapacity: true)
            stored.removeAll(keepingCapacity: true)
            valueError = nil
            var count = 0
            try scanner.expect(UInt8(ascii: "["))
            if !scanner.take(UInt8(ascii: "]")) {
                repeat {
                    try message(index: count)
                    count += 1
                } while try scanner.more(before: UInt8(ascii: "]"))
            }
            return count
        }

        mutating func message(index: Int) throws(APIError) {
            guard try scanner.nextKind() == .object else {
                try scanner.skipValue(depth: 2)
                return mistyped(index, nil, "an object")
            }
            var message = Message()
            scanner.sawNUL = false
            try members { (pass, key) throws(APIError) in
                try pass.field(key, of: &message, index: index)
                // The key or its value held one.
                if pass.scanner.sawNUL, message.nulField == nil { message.nulField = key }
                pass.scanner.sawNUL = false
            }
            if message.seq == nil { missing(index, "seq") }
            if message.type == nil { missing(index, "type") }
            guard fieldError == nil, valueError == nil else { return }
            do {
                try check(message, index: index)
                stored.append(message)
            } catch {
                valueError = error
            }
        }

        /// Reads one member of a message into `message`; a wrong type is noted, not thrown.
        mutating func field(_ key: String, of message: inout Message, index: Int) throws(APIError) {
            switch key {
            case "seq":
                guard try scanner.nextKind() == .number else {
                    try scanner.skipValue(depth: 3)
                    return mistyped(index, key, "an integer")
                }
                message.seq = try scanner.number()
                if message.seq == nil { mistyped(index, key, "an integer") }  // a fraction, or out of range
            case "type":
                guard try scanner.nextKind() == .string else {
                    try scanner.skipValue(depth: 3)
                    return mistyped(index, key, "a string")
                }
                message.type = try scanner.string(value: true).value
            case "task_id": message.taskID = try optionalString(index, key, wanted: true)?.value
            case "content": message.content = try optionalString(index, key)
            case "output": message.output = try optionalString(index, key)
            case "tool": message.tool = try optionalString(index, key)
            case "call_id": message.callID = try optionalString(index, key)
            case "issue_id", "created_at": _ = try optionalString(index, key)
            case "is_error":
                switch try scanner.nextKind() {
                case .bool: message.isError = try scanner.bool()
                case .null:
                    try scanner.literal("null")
                    message.isError = nil
                default:
                    try scanner.skipValue(depth: 3)
                    mistyped(index, key, "a boolean")
                }
            case "input":
                _ = scanner.peek()
                let start = (scanner.position, scanner.slack)
                let kind = try scanner.skipValue(depth: 3)
                if kind != .null && kind != .object { mistyped(index, key, "a JSON object") }
                message.input = kind == .null
                    ? nil : (start.0..<scanner.position, scanner.position - start.0 - (scanner.slack - start.1))
            default:
                try scanner.skipValue(depth: 3)  // not stored
            }
        }

        /// A string or null (nil); anything else is noted as mistyped and gives nil.
        mutating func optionalString(_ index: Int, _ key: String, wanted: Bool = false) throws(APIError) -> JSONScanner.StringToken? {
            switch try scanner.nextKind() {
            case .string:
                return try scanner.string(value: wanted)
            case .null:
                try scanner.literal("null")
            default:
                try scanner.skipValue(depth: 3)
                mistyped(index, key, "a string")
            }
            return nil
        }

        mutating func mistyped(_ index: Int?, _ key: String?, _ type: String) {
            if fieldError == nil { fieldError = .invalidField("Field '\(Self.name(index, key))' must be \(type).") }
        }

        mutating func missing(_ index: Int, _ key: String) {
            if fieldError == nil { fieldError = .invalidField("Missing field '\(Self.name(index, key))'.") }
        }

        /// `messages`, `messages[3]` or `messages[3].seq`: built only for an error.
        static func name(_ index: Int?, _ key: String? = nil) -> String {
            "messages" + (index.map { "[\($0)]" } ?? "") + (key.map { ".\($0)" } ?? "")
        }

        /// The rules for one well-typed message, in the order they have always been checked.
        mutating func check(_ message: Message, index: Int) throws(APIError) {
            let configuration = validator.configuration
            var path: String { Self.name(index) }
            try Validate.sameTask(message.taskID, validator.taskID)
            guard let seq = message.seq, seq > 0 else { throw .invalidValue("Field '\(path).seq' must be at least 1.") }
            guard seen.insert(seq).inserted else {
                throw .invalidValue("Field '\(path).seq' repeats seq \(seq) within the batch.")
            }
            let type = TaskMessageType(rawValue: message.type ?? "")
            guard TaskMessageType.known.contains(type) else {
                throw .invalidValue("Field '\(path).type' must be text, thinking, tool_use, tool_result or error.")
            }
            switch type {
            case .text where message.content == nil, .thinking where message.content == nil,
                .error where message.content == nil:
                throw .invalidField("Missing field '\(path).content'.")
            case .toolUse where message.tool == nil:
                throw .invalidField("Missing field '\(path).tool'.")
            default: break
            }
            for case let field? in [message.content, message.output] where field.utf8Count > configuration.maxContentBytes {
                throw .messageTooLarge
            }
            for case let (name, field?) in [("tool", message.tool), ("call_id", message.callID)] where field.utf8Count > 1000 {
                throw .invalidValue("Field '\(path).\(name)' is longer than 1000 bytes.")
            }
            if let input = message.input, input.size > configuration.maxInputBytes { throw .messageTooLarge }
            // Checked per field before; now found in the same pass, so reported last.
            if let field = message.nulField {
                throw .invalidValue("Field '\(path).\(field)' contains a NUL character.")
            }
        }
    }
}
