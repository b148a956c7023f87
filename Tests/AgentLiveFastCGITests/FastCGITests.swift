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
