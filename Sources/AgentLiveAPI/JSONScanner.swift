import HTTPTypes

/// Reads JSON text token by token without building values, and rejects what
/// PostgreSQL's jsonb would reject: anything but RFC 8259 (trailing garbage,
/// invalid UTF-8, control characters or lone surrogates in strings, nesting
/// deeper than 512). Only `\u0000` is left to the caller, which PostgreSQL
/// refuses as well but which is a value error, not a syntax error: the scanner
/// reports it through `sawNUL`.
struct JSONScanner {
    enum Kind { case object, array, string, number, bool, null }

    /// A string as it stands in the text, between its quotes.
    struct StringToken {
        /// Where it stands: the text between the quotes.
        var range: Range<Int>
        /// Its length once unescaped, in UTF-8 bytes.
        var utf8Count: Int
        /// The unescaped value, when it was asked for.
        var value: String?
    }

    static let maxDepth = 512
    static let invalid = APIError(.badRequest, "invalid_json", "The request body is not valid JSON.")

    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var position = 0
    /// Set by any string, key or value, that holds an escaped NUL; the caller resets it.
    var sawNUL = false
    /// Whitespace between tokens and the bytes escapes take beyond what they stand for,
    /// so far: a value's text less this is its size written compactly and unescaped
    /// (the same whichever way a client escapes, e.g. Python's ensure_ascii).
    private(set) var slack = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Whether `text` is one JSON value and nothing else.
    static func isValid(_ text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { bytes in
            var scanner = JSONScanner(bytes)
            return (try? scanner.skipValue(depth: 0)) != nil && scanner.peek() == nil
        }
    }

    /// The next significant byte (nil at the end), after skipping whitespace.
    mutating func peek() -> UInt8? {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09:
                position += 1
                slack += 1
            default:
                return bytes[position]
            }
        }
        return nil
    }

    /// Consumes `byte` if it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        position += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws(APIError) {
        guard take(byte) else { throw Self.invalid }
    }

    /// After a member or element: true if another follows (a comma), false at `close`.
    mutating func more(before close: UInt8) throws(APIError) -> Bool {
        if take(UInt8(ascii: ",")) { return true }
        try expect(close)
        return false
    }

    /// The kind of the value that starts next, without consuming it.
    mutating func nextKind() throws(APIError) -> Kind {
        guard let byte = peek() else { throw Self.invalid }
        switch byte {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw Self.invalid
        }
    }

    /// Skips one value of any kind and returns its kind.
    @discardableResult
    mutating func skipValue(depth: Int) throws(APIError) -> Kind {
        let kind = try nextKind()
        switch kind {
        case .object:
            guard depth < Self.maxDepth else { throw Self.invalid }
            position += 1
            if take(UInt8(ascii: "}")) { return kind }
            repeat {
                guard try nextKind() == .string else { throw Self.invalid }
                _ = try string()
                try expect(UInt8(ascii: ":"))
                try skipValue(depth: depth + 1)
            } while try more(before: UInt8(ascii: "}"))
        case .array:
            guard depth < Self.maxDepth else { throw Self.invalid }
            position += 1
            if take(UInt8(ascii: "]")) { return kind }
            repeat {
                try skipValue(depth: depth + 1)
            } while try more(before: UInt8(ascii: "]"))
        case .string: _ = try string()
        case .number: _ = try number()
        case .bool: try bool()
        case .null: try literal("null")
        }
        return kind
    }

    /// Consumes `true` or `false`.
    @discardableResult
    mutating func bool() throws(APIError) -> Bool {
        let value = bytes[position] == UInt8(ascii: "t")
        try literal(value ? "true" : "false")
        return value
    }

    mutating func literal(_ word: StaticString) throws(APIError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
            UnsafeBufferPointer(rebasing: bytes[position..<position + count])
                .elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw Self.invalid }
        position += count
    }

    /// Consumes a number; returns its value when it is written as an integer
    /// (no fraction, no exponent) that fits an Int64, nil for any other number.
    mutating func number() throws(APIError) -> Int64? {
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let digitsStart = position
        var value: Int64? = 0
        while position < bytes.count, case let digit = bytes[position] &- UInt8(ascii: "0"), digit < 10 {
            if let current = value {
                let (product, overflowA) = current.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = product.addingReportingOverflow(negative ? -Int64(digit) : Int64(digit))
                value = overflowA || overflowB ? nil : sum
            }
            position += 1
        }
        let digits = position - digitsStart
        guard digits > 0, digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { throw Self.invalid }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            try skipDigits()
            value = nil
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            try skipDigits()
            value = nil
        }
        return value
    }

    private mutating func skipDigits() throws(APIError) {
        let start = position
        while position < bytes.count, bytes[position] &- UInt8(ascii: "0") < 10 { position += 1 }
        guard position > start else { throw Self.invalid }
    }

    /// Consumes a string. Plain ASCII runs are checked 8 bytes at a time: in a batch
    /// of messages almost every byte is string content.
    mutating func string(value wanted: Bool = false) throws(APIError) -> StringToken {
        position += 1  // the opening quote
        let start = position
        var value: String? = wanted ? "" : nil
        var unescaped = position  // where the text not yet appended to `value` starts
        var escapeAdjustment = 0  // decoded minus written length of the escapes so far
        func appendUnescaped(upTo end: Int) {
            value?.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[unescaped..<end]), as: UTF8.self))
        }
        while true {
            while bytes.count - position >= 8, !Self.hasSpecialByte(bytes, at: position) { position += 8 }
            guard position < bytes.count else { throw Self.invalid }
            switch bytes[position] {
            case UInt8(ascii: "\""):
                if wanted { appendUnescaped(upTo: position) }
                let token = StringToken(range: start..<position, utf8Count: position - start + escapeAdjustment, value: value)
                slack -= escapeAdjustment
                position += 1
                return token
            case UInt8(ascii: "\\"):
                let (scalar, length) = try escape(at: position)
                if scalar == "\0" { sawNUL = true }
                escapeAdjustment += UTF8.width(scalar) - length
                if wanted {
                    appendUnescaped(upTo: position)
                    value?.unicodeScalars.append(scalar)
                    unescaped = position + length
                }
                position += length
            case 0..<0x20:
                throw Self.invalid
            case 0x20..<0x80:
                position += 1
            default:
                position += try utf8Sequence(at: position)
            }
        }
    }

    /// A quote, a backslash, a control character or a non-ASCII byte among the 8 at `offset`.
    private static func hasSpecialByte(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        let word = UnsafeRawPointer(bytes.baseAddress! + offset).loadUnaligned(as: UInt64.self)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        // (x - n) & ~x & high is non-zero iff some byte of x is below n (n <= 128).
        func anyBelow(_ x: UInt64, _ n: UInt64) -> Bool { (x &- ones &* n) & ~x & high != 0 }
        return word & high != 0 || anyBelow(word, 0x20)
            || anyBelow(word ^ (ones &* 0x22), 1) || anyBelow(word ^ (ones &* 0x5C), 1)
    }

    /// The escape at `position`: its scalar and how many bytes it takes.
    func escape(at position: Int) throws(APIError) -> (Unicode.Scalar, Int) {
        guard bytes.count - position >= 2 else { throw Self.invalid }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""): return ("\"", 2)
        case UInt8(ascii: "\\"): return ("\\", 2)
        case UInt8(ascii: "/"): return ("/", 2)
        case UInt8(ascii: "b"): return ("\u{8}", 2)
        case UInt8(ascii: "f"): return ("\u{C}", 2)
        case UInt8(ascii: "n"): return ("\n", 2)
        case UInt8(ascii: "r"): return ("\r", 2)
        case UInt8(ascii: "t"): return ("\t", 2)
        case UInt8(ascii: "u"):
            let unit = try hex4(at: position + 2)
            switch unit {
            case 0xD800..<0xDC00:
                // A high surrogate needs a low one right after it.
                guard bytes.count - position >= 12, bytes[position + 6] == UInt8(ascii: "\\"),
                    bytes[position + 7] == UInt8(ascii: "u"),
                    case let low = try hex4(at: position + 8), (0xDC00..<0xE000).contains(low),
                    let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                else { throw Self.invalid }
                return (scalar, 12)
            default:
                guard let scalar = Unicode.Scalar(unit) else { throw Self.invalid }  // a lone low surrogate
                return (scalar, 6)
            }
        default:
            throw Self.invalid
        }
    }

    private func hex4(at offset: Int) throws(APIError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw Self.invalid }
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Self.invalid
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// The length of the well-formed multi-byte UTF-8 sequence at `offset` (Unicode
    /// table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
    private func utf8Sequence(at offset: Int) throws(APIError) -> Int {
        let lead = bytes[offset]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw Self.invalid
        }
        guard bytes.count - offset >= length, secondRange.contains(bytes[offset + 1]) else { throw Self.invalid }
        for index in offset + 2..<offset + length where bytes[index] & 0xC0 != 0x80 { throw Self.invalid }
        return length
    }
}
