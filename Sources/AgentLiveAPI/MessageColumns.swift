#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A checked batch as the parameters of `agentlive.api_ingest`: the stored fields
/// column by column, each an array in PostgreSQL's text form (`{1,NULL,"a \"b\""}`).
/// PostgreSQL reads these with a copying loop; parsing the same batch as jsonb was
/// 15 % of its CPU on the ingest benchmark.
struct MessageColumns: Equatable {
    var seq, type, tool, callID, content, input, output, isError: String

    /// In the order of `api_ingest`'s array parameters.
    var parameters: [String?] { [seq, type, tool, callID, content, input, output, isError] }

    /// `messages` were checked by `scanner`, which still holds the body they stand in.
    init(_ messages: [MessageValidator.Message], in scanner: JSONScanner) {
        let count = messages.count
        var seq = ArrayLiteral(capacity: count * 8), type = ArrayLiteral(capacity: count * 12)
        var tool = ArrayLiteral(capacity: count * 6), callID = ArrayLiteral(capacity: count * 6)
        var content = ArrayLiteral(capacity: scanner.bytes.count), input = ArrayLiteral(capacity: count * 6)
        var output = ArrayLiteral(capacity: count * 6), isError = ArrayLiteral(capacity: count * 5)
        for message in messages {
            seq.appendBare(String(message.seq ?? 0))
            type.appendBare(message.type ?? "")  // one of four names: nothing to quote
            tool.append(message.tool, of: scanner)
            callID.append(message.callID, of: scanner)
            content.append(message.content, of: scanner)
            output.append(message.output, of: scanner)
            if let range = message.input?.range {
                input.appendQuoted(UnsafeBufferPointer(rebasing: scanner.bytes[range]))
            } else {
                input.appendNull()
            }
            if let value = message.isError { isError.appendBare(value ? "t" : "f") } else { isError.appendNull() }
        }
        self.seq = seq.text()
        self.type = type.text()
        self.tool = tool.text()
        self.callID = callID.text()
        self.content = content.text()
        self.input = input.text()
        self.output = output.text()
        self.isError = isError.text()
    }
}

/// One array literal being written. Inside double quotes only `"` and `\` need a
/// backslash; NULL stands for SQL null.
private struct ArrayLiteral {
    private var bytes: [UInt8]
    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    init(capacity: Int) {
        bytes = [UInt8(ascii: "{")]
        bytes.reserveCapacity(capacity + 2)
    }

    consuming func text() -> String {
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func separate() {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
    }

    mutating func appendNull() {
        separate()
        bytes.append(contentsOf: "NULL".utf8)
    }

    /// An element that needs no quotes: a number, `t`/`f`, a plain word other than NULL.
    mutating func appendBare(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
    }

    /// Any text, quoted.
    mutating func appendQuoted(_ text: UnsafeBufferPointer<UInt8>) {
        separate()
        bytes.append(Self.quote)
        for byte in text {
            if byte == Self.quote || byte == Self.backslash { bytes.append(Self.backslash) }
            bytes.append(byte)
        }
        bytes.append(Self.quote)
    }

    /// A JSON string's value (NULL for nil), unescaped and quoted. The string was
    /// checked by the scanner: between its quotes a backslash only starts an escape
    /// and a quote only ends one, so copying the runs between backslashes is enough.
    mutating func append(_ token: JSONScanner.StringToken?, of scanner: JSONScanner) {
        guard let range = token?.range else { return appendNull() }
        separate()
        bytes.append(Self.quote)
        let base = UnsafeRawPointer(scanner.bytes.baseAddress!)
        var position = range.lowerBound
        while position < range.upperBound {
            let found = memchr(base + position, Int32(Self.backslash), range.upperBound - position)
            let end = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? range.upperBound
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scanner.bytes[position..<end]))
            guard end < range.upperBound else { break }
            // Cannot fail: the scanner read this escape already.
            let (scalar, length) = (try? scanner.escape(at: end)) ?? ("\u{FFFD}", 2)
            if scalar == "\"" || scalar == "\\" { bytes.append(Self.backslash) }
            bytes.append(contentsOf: UTF8.encode(scalar)!)
            position = end + length
        }
        bytes.append(Self.quote)
    }
}
