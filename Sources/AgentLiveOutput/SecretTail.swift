import Foundation

/// Where the part of streamed text that could still be the start of a secret
/// begins: text before it is complete for redaction, text after it must wait for
/// what comes next (TextThrottle holds it back from a timed flush).
///
/// Redaction rules see one line at a time, but for private key blocks. A secret
/// with its context (`--password x`, `Authorization: Bearer x`, `KEY=x`) spans a
/// few words, and a token none: so the tail is the last `heldWords` words of a
/// line of prose not yet ended, the whole line when it looks like configuration or
/// code (a quote, a brace or `=` in it: a JSON or shell value may hold spaces) or
/// names a secret, and an open `-----BEGIN` block with all that follows.
/// Prose thus streams a few words behind the agent instead of a line behind.
/// All are bounded: a tail longer than `maxLineBytes` holds back only its last
/// word, and a block longer than `maxBlockBytes` is no private key.
enum SecretTail {
    static let maxLineBytes = 4096
    static let maxBlockBytes = 64 << 10
    static let heldWords = 8

    static func start(in text: String) -> String.Index {
        let scalars = text.unicodeScalars
        var start = text.endIndex
        // The line not yet ended, or its last words.
        let lineStart = scalars.lastIndex(of: "\n").map(scalars.index(after:)) ?? text.startIndex
        var tailStart = lineStart
        if isProse(text[lineStart...]) {
            var words = 0
            var index = text.endIndex
            while index > lineStart {
                let before = scalars.index(before: index)
                if scalars[before].properties.isWhitespace, index < text.endIndex,
                    !scalars[index].properties.isWhitespace
                {
                    words += 1
                    if words == heldWords {
                        tailStart = index
                        break
                    }
                }
                index = before
            }
        }
        if text.utf8.distance(from: tailStart, to: text.endIndex) <= maxLineBytes {
            start = tailStart
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

    /// A line that neither looks like configuration or code nor names a secret.
    static func isProse(_ line: Substring) -> Bool {
        if line.unicodeScalars.contains(where: { "\"'`{=".unicodeScalars.contains($0) }) { return false }
        let lower = line.lowercased()
        return !secretWords.contains { lower.contains($0) }
    }

    static let secretWords = ["pass", "secret", "token", "key", "auth", "bearer", "cookie", "credential", "-p"]
}
