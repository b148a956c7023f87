import CFastCGI

#if canImport(Glibc)
import Glibc
#endif

/// Who may connect to a Unix listening socket: its owner, group and mode.
/// nil keeps the process's own user or group.
public struct SocketPermissions: Sendable, Equatable {
    public var owner: uid_t?
    public var group: gid_t?
    public var mode: mode_t

    public init(owner: uid_t? = nil, group: gid_t? = nil, mode: mode_t = 0o660) {
        self.owner = owner
        self.group = group
        self.mode = mode
    }

    /// From command-line text: a user and a group by name or number, an octal mode.
    public init(owner: String?, group: String?, mode: String) throws(ListenSocketError) {
        guard let parsedMode = mode_t(mode, radix: 8), parsedMode <= 0o777 else { throw .badMode(mode) }
        self.mode = parsedMode
        if let owner {
            guard let uid = uid_t(owner) ?? getpwnam(owner)?.pointee.pw_uid else { throw .unknownUser(owner) }
            self.owner = uid
        }
        if let group {
            guard let gid = gid_t(group) ?? getgrnam(group)?.pointee.gr_gid else { throw .unknownGroup(group) }
            self.group = gid
        }
    }

    /// Every local user may connect.
    public var isWorldWritable: Bool { mode & 0o002 != 0 }
}

public enum ListenSocketError: Error, CustomStringConvertible, Equatable {
    case badMode(String)
    case unknownUser(String)
    case unknownGroup(String)
    case pathTooLong(path: String, limit: Int)
    case notASocket(path: String)
    case inUse(path: String)
    case cannotBind(path: String, errno: Int32)
    case cannotSetOwner(path: String, errno: Int32)
    case cannotSetMode(path: String, errno: Int32)
    case cannotListen(address: String, errno: Int32)

    public var description: String {
        switch self {
        case .badMode(let text): "socket mode \(text) is not an octal mode from 0 to 0777"
        case .unknownUser(let name): "no user \(name) (socket owner)"
        case .unknownGroup(let name): "no group \(name) (socket group)"
        case .pathTooLong(let path, let limit):
            "cannot listen on \(path): the path is \(path.utf8.count) bytes long; a Unix socket path has at most \(limit)"
        case .notASocket(let path): "cannot listen on \(path): a file that is not a socket is in the way"
        case .inUse(let path): "cannot listen on \(path): another process is listening there"
        case .cannotBind(let path, let code): "cannot listen on \(path): \(Self.bindProblem(path, code))"
        case .cannotSetOwner(let path, let code):
            "cannot set the owner or group of \(path): \(Self.text(code))"
                + (code == EPERM ? " (it takes root, or membership of the group: systemd's SupplementaryGroups=)" : "")
        case .cannotSetMode(let path, let code): "cannot set the mode of \(path): \(Self.text(code))"
        case .cannotListen(let address, let code): "cannot listen on \(address): \(Self.text(code))"
        }
    }

    /// What a failed bind() means for a socket path, and what usually fixes it.
    static func bindProblem(_ path: String, _ code: Int32) -> String {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) }.flatMap { $0.isEmpty ? "/" : $0 } ?? "."
        let runtimeDirectory = folder.hasPrefix("/run/")
            ? "RuntimeDirectory=\(folder.dropFirst("/run/".count)) creates it for the service"
            : "RuntimeDirectory= gives a service a folder of its own under /run"
        switch code {
        case ENOENT: return "the folder \(folder) does not exist (under systemd, \(runtimeDirectory))"
        case EACCES: return "no permission to create a file in \(folder) (under systemd, \(runtimeDirectory))"
        case EROFS: return "\(folder) is read-only, as under systemd's ProtectSystem=strict (\(runtimeDirectory))"
        case ENOTDIR: return "a part of \(folder) is not a folder"
        default: return text(code)
        }
    }

    static func text(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// The listening socket a pool of workers shares: a Unix socket path, or
/// `host:port` / `:port` for TCP.
public enum ListenSocket {
    public static func open(
        _ address: String, permissions: SocketPermissions = SocketPermissions(), backlog: Int32
    ) throws(ListenSocketError) -> Int32 {
        FCGX_Init()
        guard address.hasPrefix("/") || address.hasPrefix(".") else {
            let fd = FCGX_OpenSocket(address, backlog)
            guard fd >= 0 else { throw .cannotListen(address: address, errno: errno) }
            return fd
        }
        return try openUnix(address, permissions: permissions, backlog: backlog)
    }

    static func openUnix(_ path: String, permissions: SocketPermissions, backlog: Int32) throws(ListenSocketError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let limit = MemoryLayout.size(ofValue: address.sun_path) - 1
        guard path.utf8.count <= limit else { throw .pathTooLong(path: path, limit: limit) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
        }
        try removeStaleSocket(path, address)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .cannotBind(path: path, errno: errno) }
        // Owner-only until the owner, group and mode are set: nobody else can
        // connect in between. The process is still single-threaded here.
        let previousMask = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let bindError = errno
        umask(previousMask)
        guard bound == 0 else {
            close(fd)
            throw .cannotBind(path: path, errno: bindError)
        }
        if permissions.owner != nil || permissions.group != nil {
            guard chown(path, permissions.owner ?? uid_t.max, permissions.group ?? gid_t.max) == 0 else {
                let code = errno
                close(fd)
                unlink(path)
                throw .cannotSetOwner(path: path, errno: code)
            }
        }
        guard chmod(path, permissions.mode) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw .cannotSetMode(path: path, errno: code)
        }
        guard listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw .cannotListen(address: path, errno: code)
        }
        // Workers get it as fd 0 (dup2 clears close-on-exec there).
        return fd
    }

    /// A socket file left by a process that is gone would make bind() fail: it
    /// is removed. A live socket, or a file that is no socket, is left alone.
    private static func removeStaleSocket(_ path: String, _ address: sockaddr_un) throws(ListenSocketError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path: path) }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { close(probe) }
        var target = address
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        let code = errno
        guard connected != 0, code != EAGAIN else { throw .inUse(path: path) }
        guard code == ECONNREFUSED else { throw .cannotBind(path: path, errno: code) }
        unlink(path)
    }
}
