import AgentLiveWire
import Foundation

/// One line of an agent's JSON output as an object, or nil for anything else
/// (a blank line, a log line the tool printed). The agents' formats evolve, so
/// callers treat a field of an unexpected type as absent.
func jsonObject(_ line: String) -> [String: JSONValue]? {
    try? JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8))
}

extension JSONValue {
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var int: Int? { if case .number(let value) = self, let exact = Int(exactly: value) { exact } else { nil } }
    /// A whole number that fits in Int64 (token counts); nil for anything else.
    var int64: Int64? { if case .number(let value) = self, let exact = Int64(exactly: value) { exact } else { nil } }
    var double: Double? { if case .number(let value) = self, value.isFinite { value } else { nil } }
    var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }

    public var compactJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
