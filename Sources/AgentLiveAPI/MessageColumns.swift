import AgentLivePostgres

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A checked batch as the parameters of `agentlive.api_ingest`: the stored fields
/// column by column, each a one-dimensional array in PostgreSQL's binary form. The
/// server copies the values out; parsing the same batch as jsonb was 15 % of its
/// CPU on the ingest benchmark, and as text arrays 8 %.
struct MessageColumns {
    var seq, type, tool, callID, content, input, output, isError: BinaryArray

    /// In the order of `api_ingest`'s array parameters.
    var parameters: [PostgresParameter] {
        [seq, type, tool, callID, content, input, output, isError].map { .binary($0.bytes) }
    }

    /// `messages` were checked by `scanner`, which still holds the body they stand in.
    init(_ messages: [MessageValidator.Message], in scanner: JSONScanner) {
        let count = messages.count
        seq = BinaryArray(.int8, count: count, capacity: count * 12)
        type = BinaryArray(.text, count: count, capacity: count * 15)
        tool = BinaryArray(.text, count: count, capacity: count * 10)
        callID = BinaryArray(.text, count: count, capacity: count * 10)
        content = BinaryArray(.text, count: count, capacity: scanner.bytes.count)
        input = BinaryArray(.text, count: count, capacity: count * 10)
        output = BinaryArray(.text, count: count, capacity: count * 10)
        isError = BinaryArray(.bool, count: count, capacity: count * 5)
        for message in messages {
            seq.append(int8: message.seq ?? 0)
            type.append(text: (message.type ?? "").utf8)
            tool.append(message.tool, of: scanner)
            callID.append(message.callID, of: scanner)
            content.append(message.content, of: scanner)
            output.append(message.output, of: scanner)
            if let range = message.input?.range {
                input.append(text: UnsafeBufferPointer(rebasing: scanner.bytes[range]))  // JSON text, cast to jsonb
            } else {
                input.appendNull()
            }
            if let value = message.isError { isError.append(bool: value) } else { isError.appendNull() }
        }
    }
}

/// A one-dimensional array in PostgreSQL's binary form (what `array_recv` reads):
/// a header (dimensions, has-nulls flag, element type, length, lower bound), then
/// each element as a 4-byte big-endian length (-1 for NULL) and its bytes.
struct BinaryArray {
    /// Element types by OID (pg_type).
    enum Element: UInt32 {
        case bool = 16, int8 = 20, text = 25
    }

    private(set) var bytes: [UInt8]
    private static let hasNullsOffset = 4

    init(_ element: Element, count: Int, capacity: Int) {
        bytes = []
        bytes.reserveCapacity(20 + count * 4 + capacity)
        for field in [1, 0, element.rawValue, UInt32(count), 1] { appendBigEndian(field) }
    }

    private mutating func appendBigEndian(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendNull() {
        appendBigEndian(UInt32(bitPattern: -1))
        bytes[Self.hasNullsOffset + 3] = 1
    }

    mutating func append(int8 value: Int64) {
        appendBigEndian(8)
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(bool value: Bool) {
        appendBigEndian(1)
        bytes.append(value ? 1 : 0)
    }

    mutating func append(text: some Collection<UInt8>) {
        appendBigEndian(UInt32(text.count))
        bytes.append(contentsOf: text)
    }

    /// A JSON string's value (NULL for nil), unescaped. The string was checked by
    /// the scanner: between its quotes a backslash only starts an escape, so copying
    /// the runs between backslashes and decoding each escape is enough.
    mutating func append(_ token: JSONScanner.StringToken?, of scanner: JSONScanner) {
        guard let token else { return appendNull() }
        appendBigEndian(UInt32(token.utf8Count))
        let base = UnsafeRawPointer(scanner.bytes.baseAddress!)
        var position = token.range.lowerBound
        while position < token.range.upperBound {
            let found = memchr(base + position, Int32(UInt8(ascii: "\\")), token.range.upperBound - position)
            let end = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? token.range.upperBound
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scanner.bytes[position..<end]))
            guard end < token.range.upperBound else { break }
            // Cannot fail: the scanner read this escape already.
            let (scalar, length) = (try? scanner.escape(at: end)) ?? ("\u{FFFD}", 2)
            bytes.append(contentsOf: UTF8.encode(scalar)!)
            position = end + length
        }
    }
}
