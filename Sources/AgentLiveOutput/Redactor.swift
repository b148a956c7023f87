import Foundation

/// Replaces what looks like a secret with `[redacted]` before anything leaves
/// the machine. Two kinds of rules (SecretPatterns lists them): token formats whose
/// whole match is a secret, and contexts that name a secret (`password=…`,
/// `--token …`, `Authorization: …`, `https://user:pass@…`) whose value goes while
/// the name stays. Extra patterns from the configuration are of the first kind.
/// NSRegularExpression is immutable and documented thread-safe, hence @unchecked.
public struct Redactor: @unchecked Sendable {
    public static let replacement = "[redacted]"

    private struct Rule {
        var regex: NSRegularExpression
        /// Groups 1…kept are the context that stays; the rest of the match goes.
        var kept: Int
    }

    private let rules: [Rule]

    public init(extraPatterns: [String] = []) throws {
        let whole = try (SecretPatterns.tokens + extraPatterns).map { Rule(regex: try NSRegularExpression(pattern: $0), kept: 0) }
        let contextual = try SecretPatterns.contexts.map { Rule(regex: try NSRegularExpression(pattern: $0.pattern), kept: $0.kept) }
        rules = whole + contextual
    }

    /// Every rule runs on the text as it is, and what any of them finds goes, so
    /// one rule's replacement never hides the context another needs
    /// (`password= mysql -pX`).
    public func redact(_ text: String) -> String {
        let string = NSString(string: text)
        let all = NSRange(location: 0, length: string.length)
        var secrets: [NSRange] = []
        for rule in rules {
            for match in rule.regex.matches(in: text, range: all) {
                let start = rule.kept == 0 ? match.range.location : NSMaxRange(match.range(at: rule.kept))
                if start != NSNotFound, NSMaxRange(match.range) > start {
                    secrets.append(NSRange(location: start, length: NSMaxRange(match.range) - start))
                }
            }
        }
        guard !secrets.isEmpty else { return text }
        secrets.sort { $0.location < $1.location }
        // Overlapping or touching secrets become one replacement.
        var result = ""
        var position = 0
        var replaced = false
        for secret in secrets where NSMaxRange(secret) > position {
            if secret.location > position || !replaced {
                result += string.substring(with: NSRange(location: position, length: secret.location - position))
                result += Self.replacement
                replaced = true
            }
            position = NSMaxRange(secret)
        }
        result += string.substring(from: position)
        return result
    }

    /// Whether a JSON key names a secret, so that its whole value is one
    /// (`{"password": "…"}`, `{"Authorization": "Token …"}`).
    public static func namesSecret(_ key: String) -> Bool {
        let name = String(key.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) })
        if SecretPatterns.secretKeyNames.contains(name) { return true }
        if SecretPatterns.secretKeyParts.contains(where: name.contains) { return true }
        // `access_token`, `refresh_token`, but not the counts `max_tokens`, `input_tokens`.
        return name.contains("token") && !name.hasSuffix("tokens") && !name.contains("tokenizer")
            && !name.contains("tokencount")
    }
}
