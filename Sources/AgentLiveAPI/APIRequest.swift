#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes

/// A request as the API sees it: the head, and the body if it fit the limit.
public struct APIRequest: Sendable {
    public var head: HTTPRequest
    /// nil when the body was larger than the configured limit and was not read.
    public var body: [UInt8]?
    /// The client's address as the web server saw it (FastCGI's REMOTE_ADDR).
    public var remoteAddress: String?

    public init(head: HTTPRequest, body: [UInt8]?, remoteAddress: String? = nil) {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// `remoteAddress` when it is an IPv4 or IPv6 address (nginx on a Unix socket gives `unix:`).
    var clientAddress: String? {
        guard let address = remoteAddress else { return nil }
        var buffer = [UInt8](repeating: 0, count: 16)
        let valid = inet_pton(AF_INET, address, &buffer) == 1 || inet_pton(AF_INET6, address, &buffer) == 1
        return valid ? address : nil
    }

    /// The path without its query, percent-decoding left to the router.
    var path: Substring {
        let full = head.path ?? "/"
        return full[..<(full.firstIndex(of: "?") ?? full.endIndex)]
    }

    /// Query parameters; a repeated name keeps its last value.
    var query: [String: String] {
        guard let full = head.path, let mark = full.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in full[full.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecoded(parts[0])
            result[name] = parts.count > 1 ? percentDecoded(parts[1]) : ""
        }
        return result
    }
}

/// Percent-decoding (and `+` as space, as forms send it); invalid escapes stay as they are.
func percentDecoded(_ text: Substring) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count)
    var iterator = Array(text.utf8)[...]
    while let byte = iterator.popFirst() {
        if byte == UInt8(ascii: "%"), iterator.count >= 2,
            let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
        {
            bytes.append(value)
            iterator = iterator.dropFirst(2)
        } else {
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
