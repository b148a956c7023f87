@testable import AgentLiveFastCGI
import HTTPTypes
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct FastCGIParametersTests {
    @Test func buildsTheRequestHeadFromNginxParameters() throws {
        let parameters = FastCGIParameters([
            "REQUEST_METHOD=POST", "REQUEST_URI=/api/tasks/1/messages?after=3&limit=2",
            "CONTENT_TYPE=application/json", "CONTENT_LENGTH=12", "HTTP_CONTENT_TYPE=application/json",
            "HTTP_AUTHORIZATION=Bearer x=y", "HTTP_X_FORWARDED_FOR=10.0.0.1", "HTTP_HOST=example.org",
            "HTTPS=on", "SCRIPT_FILENAME=/ignored", "NOEQUALS",
        ])
        let head = try #require(parameters.httpRequest)
        #expect(head.method == .post)
        #expect(head.path == "/api/tasks/1/messages?after=3&limit=2")
        #expect(head.scheme == "https")
        #expect(head.authority == "example.org")
        #expect(head.headerFields[values: .contentType] == ["application/json"])
        #expect(head.headerFields[.contentLength] == "12")
        #expect(head.headerFields[.authorization] == "Bearer x=y")
        #expect(head.headerFields[HTTPField.Name("x-forwarded-for")!] == "10.0.0.1")
        #expect(parameters["SCRIPT_FILENAME"] == "/ignored")
    }

    @Test("The authority gets the server's port when Debian's HTTP_HOST ($host) leaves it out")
    func authorityKeepsThePortTheClientUsed() {
        func authority(_ pairs: String...) -> String? {
            FastCGIParameters(["REQUEST_METHOD=GET", "REQUEST_URI=/"] + pairs).httpRequest?.authority
        }
        #expect(authority("HTTP_HOST=127.0.0.1", "SERVER_PORT=8080") == "127.0.0.1:8080")
        #expect(authority("HTTP_HOST=example.org", "SERVER_PORT=80") == "example.org")
        #expect(authority("HTTP_HOST=example.org", "SERVER_PORT=443", "HTTPS=on") == "example.org")
        #expect(authority("HTTP_HOST=example.org:8443", "SERVER_PORT=443", "HTTPS=on") == "example.org:8443")
        #expect(authority("HTTP_HOST=[::1]", "SERVER_PORT=8080") == "[::1]:8080")
        #expect(authority("HTTP_HOST=[::1]:9", "SERVER_PORT=8080") == "[::1]:9")
        #expect(authority("SERVER_PORT=8080") == nil)
        #expect(FastCGIParameters(["REMOTE_ADDR=192.0.2.1"]).remoteAddress == "192.0.2.1")
    }

    @Test func noMethodMeansNoRequest() {
        #expect(FastCGIParameters(["REQUEST_URI=/"]).httpRequest == nil)
        #expect(FastCGIParameters(["REQUEST_METHOD=B@D", "REQUEST_URI=/"]).httpRequest == nil)
    }

    @Test func responseHeadHasReasonPhraseAndNoInjectedLines() {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = "999"
        fields.append(HTTPField(name: HTTPField.Name("x-evil")!, value: "a\r\nSet-Cookie: x=1"))
        let text = String(decoding: FastCGIResponseHead(HTTPResponse(status: .created, headerFields: fields), contentLength: 5).bytes, as: UTF8.self)
        #expect(text.hasPrefix("Status: 201 Created\r\n"))
        #expect(text.contains("Content-Type: application/json\r\n"))
        #expect(text.hasSuffix("Content-Length: 5\r\n\r\n"))
        #expect(!text.contains("999"))
        #expect(!text.contains("\r\nSet-Cookie"))
        #expect(!text.contains("\nSet-Cookie"))
    }
}

@Suite struct PoolStateTests {
    let start = ContinuousClock.now

    @Test func fillsThePoolAndReplacesADeadWorker() {
        var pool = PoolState(size: 3)
        #expect(pool.workersToStart(now: start) == 3)
        for pid in [10, 11, 12] { pool.started(pid_t(pid), at: start) }
        #expect(pool.workersToStart(now: start) == 0)
        pool.exited(11, at: start + .seconds(30))
        #expect(pool.workersToStart(now: start + .seconds(30)) == 1)
    }

    @Test func pausesAfterACrashAtStartUp() {
        var pool = PoolState(size: 1)
        pool.started(10, at: start)
        pool.exited(10, at: start + .milliseconds(100))
        #expect(pool.workersToStart(now: start + .milliseconds(200)) == 0)
        #expect(pool.workersToStart(now: start + .milliseconds(1200)) == 1)
    }

    @Test func startsNothingWhileStoppingAndIgnoresUnknownChildren() {
        var pool = PoolState(size: 2)
        pool.started(10, at: start)
        pool.exited(99, at: start + .seconds(5))
        #expect(pool.running.count == 1)
        pool.stopping = true
        #expect(pool.workersToStart(now: start + .seconds(5)) == 0)
    }
}

@Suite struct PoolReloadTests {
    let start = ContinuousClock.now

    @Test("A reload retires every worker and starts a full set of replacements at once")
    func reloadStartsReplacementsAtOnce() {
        var pool = PoolState(size: 2)
        for pid in [10, 11] { pool.started(pid_t(pid), at: start) }
        #expect(Set(pool.retireAll()) == [10, 11])
        #expect(pool.workersToStart(now: start) == 2)
        for pid in [20, 21] { pool.started(pid_t(pid), at: start) }
        #expect(pool.workersToStart(now: start) == 0)
        #expect(Set(pool.retireAll()) == [20, 21], "a second reload retires only the new set")
    }

    @Test("A retired worker that exits young is not taken for a crash")
    func retiredWorkerIsNoCrash() {
        var pool = PoolState(size: 1)
        pool.started(10, at: start)
        _ = pool.retireAll()
        pool.started(11, at: start)
        pool.exited(10, at: start + .milliseconds(100))
        #expect(pool.running.keys.sorted() == [11])
        #expect(pool.retiring.isEmpty)
        pool.exited(11, at: start + .milliseconds(200))
        #expect(pool.workersToStart(now: start + .milliseconds(300)) == 0, "a young worker that was not retired did crash")
    }
}

@Suite struct ProcessTitleTests {
    @Test("The title fills the argument block and NULs pad the rest")
    func titleIsPadded() {
        #expect(ProcessTitle.block("ab", capacity: 5) == [97, 98, 0, 0, 0])
    }

    @Test("A title longer than the argument block is cut and still ends in NUL")
    func titleIsCut() {
        #expect(ProcessTitle.block("abcdef", capacity: 4) == [97, 98, 99, 0])
        #expect(ProcessTitle.block("abc", capacity: 0) == [])
    }
}

@Suite struct SocketPermissionsTests {
    @Test("Mode, owner and group are read from names, numbers and octal text")
    func parses() throws {
        let permissions = try SocketPermissions(owner: "root", group: "0", mode: "0640")
        #expect(permissions == SocketPermissions(owner: 0, group: 0, mode: 0o640))
        #expect(try SocketPermissions(owner: nil, group: nil, mode: "660") == SocketPermissions())
    }

    @Test("The default lets the owner and group connect and nobody else")
    func defaultIsNotWorldWritable() {
        #expect(SocketPermissions().mode == 0o660)
        #expect(!SocketPermissions().isWorldWritable)
        #expect(SocketPermissions(mode: 0o666).isWorldWritable)
    }

    @Test("Bad modes and unknown users or groups are refused", arguments: [
        (nil, nil, "0968"), (nil, nil, "rw"), (nil, nil, "01777"),
        ("no-such-user-agentlive", nil, "0660"), (nil, "no-such-group-agentlive", "0660"),
    ] as [(String?, String?, String)])
    func refuses(owner: String?, group: String?, mode: String) {
        #expect(throws: ListenSocketError.self) { try SocketPermissions(owner: owner, group: group, mode: mode) }
    }
}

@Suite struct ListenSocketTests {
    /// A fresh folder under /tmp, removed by the caller.
    func temporaryFolder() -> String {
        var template = Array("/tmp/agentlive-socket-XXXXXX".utf8CString)
        return String(cString: mkdtemp(&template)!)
    }

    func status(_ path: String) -> stat? {
        var result = stat()
        return lstat(path, &result) == 0 ? result : nil
    }

    func connects(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    @Test("The socket gets the requested group and mode, and accepts connections")
    func setsGroupAndMode() throws {
        let folder = temporaryFolder()
        defer { rmdir(folder) }
        let path = folder + "/api.sock"
        defer { unlink(path) }
        let fd = try ListenSocket.open(path, permissions: SocketPermissions(owner: getuid(), group: getgid(), mode: 0o640), backlog: 8)
        defer { close(fd) }
        let socketStatus = try #require(status(path))
        #expect(socketStatus.st_mode & S_IFMT == S_IFSOCK)
        #expect(socketStatus.st_mode & 0o7777 == 0o640)
        #expect(socketStatus.st_gid == getgid())
        #expect(connects(path))
    }

    @Test("A missing folder is named, with the systemd setting that creates it")
    func missingFolder() {
        let path = "/tmp/agentlive-no-such-folder/api.sock"
        #expect {
            _ = try ListenSocket.open(path, backlog: 8)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("/tmp/agentlive-no-such-folder does not exist")
                && text.contains("RuntimeDirectory=")
        }
        #expect(ListenSocketError.bindProblem("/run/agentlive/api.sock", ENOENT).contains("RuntimeDirectory=agentlive"))
    }

    @Test("A socket left by a process that is gone is replaced")
    func replacesStaleSocket() throws {
        let folder = temporaryFolder()
        defer { rmdir(folder) }
        let path = folder + "/api.sock"
        defer { unlink(path) }
        close(try ListenSocket.open(path, backlog: 8))  // the file stays, nobody listens
        #expect(!connects(path))
        let fd = try ListenSocket.open(path, backlog: 8)
        defer { close(fd) }
        #expect(connects(path))
    }

    @Test("A socket another process listens on, or a file that is no socket, is left alone")
    func leavesOthersAlone() throws {
        let folder = temporaryFolder()
        defer { rmdir(folder) }
        let path = folder + "/api.sock"
        defer { unlink(path) }
        let live = try ListenSocket.open(path, backlog: 8)
        #expect(throws: ListenSocketError.inUse(path: path)) { try ListenSocket.open(path, backlog: 8) }
        #expect(connects(path))
        close(live)
        unlink(path)

        let file = open(path, O_CREAT | O_WRONLY, 0o600)
        close(file)
        #expect(throws: ListenSocketError.notASocket(path: path)) { try ListenSocket.open(path, backlog: 8) }
        #expect(status(path).map { $0.st_mode & S_IFMT } == S_IFREG)
    }

    @Test("A path too long for a Unix socket is refused before anything is touched")
    func pathTooLong() {
        let path = "/tmp/" + String(repeating: "a", count: 120)
        #expect(throws: ListenSocketError.pathTooLong(path: path, limit: 107)) { try ListenSocket.open(path, backlog: 8) }
    }
}
