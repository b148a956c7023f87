import Crypto
import HTTPTypes

/// A token as presented: `alu_…` (user), `ald_…` (daemon) or `als_…` (session),
/// then the token's id and its secret. Parsing needs no database.
public struct PresentedToken: Equatable, Sendable {
    public enum Kind: String, Sendable { case user, daemon, session }

    public var kind: Kind
    /// The token's row id in agentlive.token.
    public var id: String
    public var plaintext: String

    public static let sessionCookie = "agentlive_session"
    private static let prefixes: [String: Kind] = ["alu": .user, "ald": .daemon, "als": .session]

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 32, parts[2].count == 48,
            parts[1].allSatisfy(\.isHexDigit), parts[2].allSatisfy(\.isHexDigit),
            let kind = Self.prefixes[String(parts[0])]
        else { return nil }
        let hex = parts[1].lowercased()
        func slice(_ from: Int, _ to: Int) -> Substring {
            hex.dropFirst(from).prefix(to - from)
        }
        self.kind = kind
        id = [slice(0, 8), slice(8, 12), slice(12, 16), slice(16, 20), slice(20, 32)].joined(separator: "-")
        plaintext = String(text)
    }

    /// From `Authorization: Bearer …`, else from the session cookie; nil when neither is
    /// there. A header that is present but malformed is an error rather than a
    /// fall-back to the cookie.
    public static func from(_ fields: HTTPFields) -> Result<PresentedToken, MalformedCredentials>? {
        if let authorization = fields[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer",
                let token = PresentedToken(trimmingSpaces(parts[1]))
            else { return .failure(MalformedCredentials()) }
            return .success(token)
        }
        let cookies = fields[values: .cookie].flatMap { $0.split(separator: ";") }
        for cookie in cookies {
            let pair = trimmingSpaces(cookie).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == sessionCookie {
                guard let token = PresentedToken(pair[1]), token.kind == .session else {
                    return .failure(MalformedCredentials())
                }
                return .success(token)
            }
        }
        return nil
    }

    /// The SHA-256 of the whole token: what agentlive.token stores as secret_hash.
    public var digest: [UInt8] { Array(SHA256.hash(data: Array(plaintext.utf8))) }

    /// Whether the stored SHA-256 (hex) is this token's, in time independent of where they differ.
    public func matches(storedHashHex: String) -> Bool {
        let digest = self.digest
        guard let stored = bytes(fromHex: storedHashHex), stored.count == digest.count else { return false }
        return zip(digest, stored).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

public struct MalformedCredentials: Error, Equatable {
    public init() {}
}

private func bytes(fromHex hex: String) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    return stride(from: 0, to: digits.count, by: 2).compactMap {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)
    }
}

private func trimmingSpaces(_ text: Substring) -> Substring {
    var text = text
    while text.first == " " { text.removeFirst() }
    while text.last == " " { text.removeLast() }
    return text
}
