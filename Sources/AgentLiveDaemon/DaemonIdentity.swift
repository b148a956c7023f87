import Foundation

/// The daemon's id, kept in its state folder across restarts so the server sees
/// one daemon. A daemon id belongs to one token in one workspace, so the id is
/// kept per server and token: the file name holds a hash of the server URL and
/// the token's id (its public part, never the secret).
public struct DaemonIdentity: Sendable {
    public let file: URL
    /// Where a single id was kept before ids were per server and token: adopted once.
    let sharedFile: URL

    public init(stateDirectory: URL, server: String, token: String) {
        let key = Self.hash("\(Self.normalized(server))\n\(Self.tokenID(token))")
        file = stateDirectory.appendingPathComponent("daemon-id-\(key)")
        sharedFile = stateDirectory.appendingPathComponent("daemon-id")
    }

    /// The saved id, or a new one, saved.
    public func load() throws -> String {
        for candidate in [file, sharedFile] {
            if let text = try? String(contentsOf: candidate, encoding: .utf8),
                let id = UUID(uuidString: text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                let id = id.uuidString.lowercased()
                if candidate != file { try save(id) }
                return id
            }
        }
        return try renew()
    }

    /// A new id, saved in place of the old one.
    public func renew() throws -> String {
        let id = UUID().uuidString.lowercased()
        try save(id)
        return id
    }

    private func save(_ id: String) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try id.write(to: file, atomically: true, encoding: .utf8)
    }

    /// `ald_<id: 32 hex>_<secret: 48 hex>` → the id; nothing of a token of another shape.
    static func tokenID(_ token: String) -> String {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 32, parts[1].allSatisfy(\.isHexDigit) else { return "" }
        return parts[1].lowercased()
    }

    static func normalized(_ server: String) -> String {
        var server = server.lowercased()
        while server.hasSuffix("/") { server.removeLast() }
        return server
    }

    /// FNV-1a, 64 bits: a stable file name, not a secret's digest.
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
