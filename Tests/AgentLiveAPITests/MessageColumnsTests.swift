@testable import AgentLiveAPI
import AgentLiveFuzzSupport
import Foundation
import Testing

/// The binary arrays the ingest call gets must carry exactly the values sent,
/// however the client escaped them: random batches, written with random escapes,
/// read back the way PostgreSQL's array_recv reads them.
@Suite struct MessageColumnsTests {
    struct Sent {
        var seq: Int64
        var type: String
        var tool, callID, content, output: String?
        var input: [String: String]?
        var isError: Bool?
    }

    @Test func randomBatchesComeThroughUnchanged() throws {
        var random = SplitMix64(seed: 20261125)
        for round in 0..<300 {
            let sent = (0..<Int.random(in: 1...12, using: &random)).map { Self.message($0, &random) }.shuffled(using: &random)
            let body = Self.body(sent, &random)
            let columns = try MessageValidator(configuration: APIConfiguration(), taskID: "t").validate(Array(body.utf8))
            let context = "round \(round): \(body)"
            #expect(elements(columns.seq) == sent.map { String($0.seq) }, "\(context)")
            #expect(elements(columns.type) == sent.map(\.type), "\(context)")
            #expect(elements(columns.tool) == sent.map(\.tool), "\(context)")
            #expect(elements(columns.callID) == sent.map(\.callID), "\(context)")
            #expect(elements(columns.content) == sent.map(\.content), "\(context)")
            #expect(elements(columns.output) == sent.map(\.output), "\(context)")
            #expect(elements(columns.isError) == sent.map { $0.isError.map { $0 ? "t" : "f" } }, "\(context)")
            let inputs = elements(columns.input).map { text in
                text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
            }
            #expect(inputs == sent.map(\.input), "\(context)")
        }
    }

    @Test func anEmptyStringIsNotNull() throws {
        let body = #"{"messages":[{"seq":1,"type":"text","content":""},{"seq":2,"type":"text","content":"NULL"}]}"#
        let columns = try MessageValidator(configuration: APIConfiguration(), taskID: "t").validate(Array(body.utf8))
        #expect(FakeDatabase.describe(.binary(columns.content.bytes)) == #"{"","NULL"}"#)
        #expect(elements(columns.content) == ["", "NULL"])
        #expect(elements(columns.tool) == [nil, nil])
    }

    // MARK: - Making batches

    /// Characters that need care somewhere: JSON escapes, array syntax, NULL, UTF-8 of every length.
    static let alphabet: [Unicode.Scalar] = Array(#"ab "\/{},NUL"#.unicodeScalars)
        + ["\n", "\t", "\r", "\u{1}", "\u{1F}", "\u{7F}", "é", "你", "\u{2028}", "😀", "\u{10FFFF}"]

    static func string(_ random: inout SplitMix64) -> String {
        var text = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...20, using: &random) { text.append(alphabet.randomElement(using: &random)!) }
        return String(text)
    }

    static func message(_ index: Int, _ random: inout SplitMix64) -> Sent {
        func maybe(_ random: inout SplitMix64) -> String? { Bool.random(using: &random) ? string(&random) : nil }
        let type = ["text", "tool_use", "tool_result", "error"].randomElement(using: &random)!
        var message = Sent(seq: Int64(index + 1), type: type, tool: maybe(&random), callID: maybe(&random),
                           content: maybe(&random), output: maybe(&random))
        if type == "text" || type == "error", message.content == nil { message.content = string(&random) }
        if type == "tool_use", message.tool == nil { message.tool = string(&random) }
        if Bool.random(using: &random) { message.input = [string(&random): string(&random)] }
        message.isError = [true, false, nil].randomElement(using: &random)!
        return message
    }

    /// JSON written by hand, so every character can be escaped or not, at random,
    /// and absent fields are sometimes left out and sometimes `null`.
    static func body(_ messages: [Sent], _ random: inout SplitMix64) -> String {
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                let escape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\" || Bool.random(using: &random)
                guard escape else {
                    out.unicodeScalars.append(scalar)
                    continue
                }
                switch scalar {
                case "\"": out += #"\""#
                case "\\": out += #"\\"#
                case "/" where Bool.random(using: &random): out += #"\/"#
                case "\n" where Bool.random(using: &random): out += #"\n"#
                default:
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                }
            }
            return out + "\""
        }
        func field(_ key: String, _ value: String?) -> String? {
            guard let value else { return Bool.random(using: &random) ? nil : "\"\(key)\":null" }
            return "\"\(key)\":\(value)"
        }
        let objects = messages.map { m in
            let input = m.input.map { "{" + $0.map { quoted($0.key) + " : " + quoted($0.value) }.joined() + "}" }
            let fields = [
                field("seq", String(m.seq)), field("type", quoted(m.type)), field("tool", m.tool.map(quoted)),
                field("call_id", m.callID.map(quoted)), field("content", m.content.map(quoted)),
                field("output", m.output.map(quoted)), field("input", input),
                field("is_error", m.isError.map { $0 ? "true" : "false" }),
            ].compactMap { $0 }.shuffled(using: &random)
            return "{" + fields.joined(separator: ",") + "}"
        }
        return #"{"messages":[ "# + objects.joined(separator: ", ") + "]}"
    }
}

/// The elements of a column as text (see `binaryArray`).
func elements(_ column: BinaryArray) -> [String?] {
    binaryArray(column.bytes)?.values ?? [":not an array:"]
}
