import Foundation

/// Replaces what looks like a secret with `[redacted]` before anything leaves
/// the machine: provider API keys and tokens, private key blocks, and the values
/// of `password=`-style assignments. Extra patterns come from the configuration.
/// NSRegularExpression is immutable and documented thread-safe, hence @unchecked.
public struct Redactor: @unchecked Sendable {
    public static let replacement = "[redacted]"

    /// Patterns whose whole match is a secret.
    public static let defaultPatterns = [
        #"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----"#,
        #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#,  // AWS access key id
        #"\bgh[pousr]_[A-Za-z0-9]{36,}\b"#,  // GitHub tokens
        #"\bgithub_pat_[A-Za-z0-9_]{22,}\b"#,
        #"\bglpat-[A-Za-z0-9_-]{20,}\b"#,  // GitLab
        #"\bsk-ant-[A-Za-z0-9_-]{20,}"#,  // Anthropic
        #"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"#,  // OpenAI
        #"\bxox[abposr]-[A-Za-z0-9-]{10,}"#,  // Slack
        #"\bAIza[0-9A-Za-z_-]{35}\b"#,  // Google API key
        #"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}\b"#,  // Stripe
        #"\bal[uds]_[0-9a-f]{32}_[0-9a-f]{48}\b"#,  // AgentLive's own tokens
        #"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#,  // JWTs
    ]

    /// Every repetition that could span a long run of characters is bounded, so a
    /// megabyte of output costs linear time, not quadratic backtracking.
    /// Patterns that keep their context (groups 1 and 2) and lose the secret (group 3).
    /// `password=…`, `api_key: "…"`, `SECRET_TOKEN=…`: the name stays, the value goes;
    /// a colon counts only before a quoted value, so `token: string` in code stays.
    /// `scheme://user:password@host`: the password goes.
    static let contextual = [assignment, #"([a-z][a-z0-9+.-]{0,15}://)([^/\s:@]{1,100}:)([^@\s/]{1,200})(?=@)"#]
    static let assignment = #"(?i)\b([A-Za-z0-9_.-]{0,40}(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)[A-Za-z0-9_.-]{0,40})(["']?\s*=\s*|["']?\s*:\s*(?=["']))("[^"\n]*"|'[^'\n]*'|[^\s"',;]+)"#

    private let patterns: [NSRegularExpression]
    private let contextualPatterns: [NSRegularExpression]

    public init(extraPatterns: [String] = []) throws {
        patterns = try (Self.defaultPatterns + extraPatterns).map { try NSRegularExpression(pattern: $0) }
        contextualPatterns = try Self.contextual.map { try NSRegularExpression(pattern: $0) }
    }

    public func redact(_ text: String) -> String {
        var result = text
        for pattern in patterns {
            result = pattern.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: Self.replacement)
        }
        for pattern in contextualPatterns {
            result = pattern.stringByReplacingMatches(
                in: result, range: NSRange(result.startIndex..., in: result), withTemplate: "$1$2\(Self.replacement)")
        }
        return result
    }
}
