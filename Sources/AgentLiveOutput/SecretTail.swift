import Foundation

/// Where the part of streamed text that could still be the start of a secret
/// begins: text before it is complete for redaction, text after it must wait for
/// what comes next (TextThrottle holds it back from a timed flush).
///
/// Redaction rules see one line at a time, but for private key blocks. So the tail
/// is the line not yet ended, and an open `-----BEGIN` block with all that follows.
/// Both are bounded: a line longer than `maxLineBytes` holds back only its last
/// word (a secret in a line that long, split with its context on the line before,
/// can escape), and a block longer than `maxBlockBytes` is no private key.
enum SecretTail {
    static let maxLineBytes = 4096
    static let maxBlockBytes = 64 << 10

    static func start(in text: String) -> String.Index {
        let scalars = text.unicodeScalars
        var start = text.endIndex
        // The line not yet ended.
        let lineStart = scalars.lastIndex(of: "\n").map(scalars.index(after:)) ?? text.startIndex
        if text.utf8.distance(from: lineStart, to: text.endIndex) <= maxLineBytes {
            start = lineStart
        } else if let space = scalars[lineStart...].lastIndex(where: { $0.properties.isWhitespace }) {
            let wordStart = scalars.index(after: space)
            if text.utf8.distance(from: wordStart, to: text.endIndex) <= maxLineBytes { start = wordStart }
        }
        // A key block not closed before the line being written: held whole, so it is
        // redacted as a block, with its END line.
        if let begin = text.range(of: "-----BEGIN", options: .backwards),
            text.utf8.distance(from: begin.lowerBound, to: text.endIndex) <= maxBlockBytes
        {
            let end = text.range(of: "-----END", range: begin.upperBound..<text.endIndex)
            let closing = end.flatMap { text.range(of: "-----", range: $0.upperBound..<text.endIndex) }
            if closing.map({ $0.upperBound > lineStart }) ?? true { start = min(start, begin.lowerBound) }
        }
        return start
    }
}
