import CFastCGI

#if canImport(Glibc)
import Glibc
#endif

public enum ListenSocketError: Error, CustomStringConvertible {
    case cannotListen(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotListen(let path, let code): "cannot listen on \(path): \(String(cString: strerror(code)))"
        }
    }
}

/// The listening socket a pool of workers shares: a Unix socket path, or
/// `host:port` / `:port` for TCP.
public enum ListenSocket {
    public static func open(_ address: String, mode: mode_t, backlog: Int32) throws(ListenSocketError) -> Int32 {
        FCGX_Init()
        let isUnixPath = address.hasPrefix("/") || address.hasPrefix(".")
        // A socket file left by a previous run would make bind() fail.
        if isUnixPath { unlink(address) }
        let fd = FCGX_OpenSocket(address, backlog)
        guard fd >= 0 else { throw .cannotListen(path: address, errno: errno) }
        if isUnixPath { chmod(address, mode) }
        return fd
    }
}
