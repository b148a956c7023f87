#if canImport(Glibc)
import Glibc
#endif

/// Where the supervisor serves /metrics: `host:port` with an IPv4 address,
/// `[IPv6]:port`, or `localhost:port`. Metrics are for the machine's own scraper
/// (or one reached through an SSH tunnel): a non-loopback address is refused
/// unless the operator says otherwise.
public struct MetricsAddress: Sendable, Equatable, CustomStringConvertible {
    public enum Host: Sendable, Equatable {
        case ipv4(in_addr_t)  // network byte order
        case ipv6([UInt8])
    }

    public var host: Host
    public var port: UInt16
    public let description: String

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case notLoopback(String)

        public var description: String {
            switch self {
            case .malformed(let text):
                "--metrics-listen \(text): expected host:port with an IP address, e.g. 127.0.0.1:9464 or [::1]:9464"
            case .notLoopback(let text):
                "--metrics-listen \(text) is not a loopback address: metrics would be open to the network "
                    + "(pass --metrics-allow-non-loopback to mean it)"
            }
        }
    }

    public init(_ text: String, allowNonLoopback: Bool = false) throws(Failure) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            throw .malformed(text)
        }
        var name = String(text[..<colon])
        if name == "localhost" { name = "127.0.0.1" }
        if name.hasPrefix("[") && name.hasSuffix("]") {
            var bytes = [UInt8](repeating: 0, count: 16)
            guard inet_pton(AF_INET6, String(name.dropFirst().dropLast()), &bytes) == 1 else { throw .malformed(text) }
            host = .ipv6(bytes)
        } else {
            var address = in_addr()
            guard inet_pton(AF_INET, name, &address) == 1 else { throw .malformed(text) }
            host = .ipv4(address.s_addr)
        }
        self.port = port
        description = text
        guard allowNonLoopback || isLoopback else { throw .notLoopback(text) }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch host {
        case .ipv4(let address): UInt32(bigEndian: address) >> 24 == 127
        case .ipv6(let bytes): bytes == [UInt8](repeating: 0, count: 15) + [1]
        }
    }
}
