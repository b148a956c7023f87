import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.x server for `GET /metrics`, on a thread of the supervisor so
/// that a slow scraper never delays reaping or restarting workers. One
/// connection at a time, closed after each answer; reads and writes time out
/// after 2 s. The socket is close-on-exec: workers do not inherit it.
public final class MetricsServer: @unchecked Sendable {
    public let address: MetricsAddress
    private let fd: Int32

    public enum Failure: Error, CustomStringConvertible {
        case cannotListen(address: String, errno: Int32)

        public var description: String {
            switch self {
            case .cannotListen(let address, let code): "cannot serve metrics on \(address): \(String(cString: strerror(code)))"
            }
        }
    }

    public init(_ address: MetricsAddress) throws(Failure) {
        self.address = address
        let family = if case .ipv6 = address.host { AF_INET6 } else { AF_INET }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotListen(address: address.description, errno: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        switch address.host {
        case .ipv4(let host):
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = address.port.bigEndian
            socketAddress.sin_addr.s_addr = host
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ipv6(let bytes):
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = address.port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: bytes) }
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw .cannotListen(address: address.description, errno: code)
        }
        self.fd = fd
    }

    /// Serves on a thread of its own until the process exits; `body` renders
    /// the exposition for each scrape.
    public func start(_ body: @escaping @Sendable () -> String) {
        let context = Unmanaged.passRetained(Context(server: self, body: body)).toOpaque()
        // The thread starts with every signal blocked (it inherits the mask in
        // force here): the supervisor takes its signals with sigtimedwait on the
        // main thread, and a SIGTERM delivered to this thread would kill the
        // process outright.
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { argument in
            let context = Unmanaged<Context>.fromOpaque(argument!).takeRetainedValue()
            context.server.serve(context.body)
            return nil
        }, context)
        precondition(started == 0, "cannot start the metrics thread: \(started)")
        pthread_detach(thread)
    }

    private final class Context {
        let server: MetricsServer
        let body: @Sendable () -> String

        init(server: MetricsServer, body: @escaping @Sendable () -> String) {
            self.server = server
            self.body = body
        }
    }

    private func serve(_ body: @Sendable () -> String) {
        while true {
            let connection = agentlive_accept_cloexec(fd)
            guard connection >= 0 else {
                if errno != EINTR && errno != ECONNABORTED { usleep(100_000) }
                continue
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let response = Self.response(to: readHead(connection), body: body)
            var sent = 0
            response.withUnsafeBytes { bytes in
                while sent < bytes.count {
                    let count = send(connection, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
                    guard count > 0 else { return }
                    sent += count
                }
            }
            close(connection)
        }
    }

    /// The request head (up to 8 KiB, to the blank line).
    private func readHead(_ connection: Int32) -> [UInt8] {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            head += buffer[..<count]
            if head.count >= 4 && head.suffix(4).elementsEqual("\r\n\r\n".utf8) { break }
        }
        return head
    }

    /// The answer to a request head: the exposition for `GET /metrics` (or
    /// `HEAD`), 404 for another path, 405 for another method, 400 for no request.
    static func response(to head: [UInt8], body: () -> String) -> [UInt8] {
        let line = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let parts = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        func answer(_ status: String, _ type: String, _ text: String, withBody: Bool = true, extra: String = "") -> [UInt8] {
            let payload = Array(text.utf8)
            let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(payload.count)\r\n\(extra)Connection: close\r\n\r\n"
            return Array(head.utf8) + (withBody ? payload : [])
        }
        guard parts.count == 3, parts[2].hasPrefix("HTTP/") else { return answer("400 Bad Request", "text/plain", "bad request\n") }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard path == "/metrics" else { return answer("404 Not Found", "text/plain", "only /metrics here\n") }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            return answer("405 Method Not Allowed", "text/plain", "GET only\n", extra: "Allow: GET, HEAD\r\n")
        }
        return answer("200 OK", MetricsExposition.contentType, body(), withBody: parts[0] == "GET")
    }
}
