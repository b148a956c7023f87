import AgentLiveConnInfo
import Foundation
import Testing

/// The rules libpq applies to the options it parsed (pure: no environment).
@Suite struct ConnectionRulesTests {
    let defaults = ["user": "osuser", "port": "5432", "target_session_attrs": "any", "sslmode": "prefer"]

    func options(_ given: [String: String], defaults: [String: String]? = nil) throws -> ConnectionOptions {
        try ConnectionOptions(given: given, defaults: defaults ?? self.defaults, socketDirectory: "/var/run/postgresql")
    }

    @Test("With nothing given: the socket folder, port 5432, the OS user and a database named after the user")
    func nothingGiven() throws {
        let resolved = try options([:])
        #expect(resolved.endpoints == [DatabaseEndpoint(host: "/var/run/postgresql", port: 5432)])
        #expect(resolved.endpoints[0].socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(resolved.user == "osuser")
        #expect(resolved.database == "osuser")
        #expect(resolved.password == nil)
        #expect(resolved.targetSessionAttributes == .any)
    }

    @Test("Several hosts with a port each become endpoints in order")
    func hostsWithPortsEach() throws {
        let resolved = try options(["host": "a,b", "port": "5432,5433", "target_session_attrs": "read-write"])
        #expect(resolved.endpoints == [DatabaseEndpoint(host: "a", port: 5432), DatabaseEndpoint(host: "b", port: 5433)])
        #expect(resolved.targetSessionAttributes == .readWrite)
    }

    @Test("One port applies to every host; an empty entry means the default port")
    func portsShared() throws {
        #expect(try options(["host": "a,/run/pg,c", "port": "6000"]).endpoints.map(\.port) == [6000, 6000, 6000])
        #expect(try options(["host": "a,b", "port": "6000,"]).endpoints.map(\.port) == [6000, 5432])
    }

    @Test("An empty host in a list is the socket folder")
    func emptyHostIsSocket() throws {
        let resolved = try options(["host": "db1,", "port": "5432"])
        #expect(resolved.endpoints.map(\.isSocket) == [false, true])
        #expect(resolved.endpoints[1].description == #"socket "/var/run/postgresql/.s.PGSQL.5432""#)
    }

    @Test("hostaddr is the address connected to; host stays the name")
    func hostaddr() throws {
        let resolved = try options(["host": "db1", "hostaddr": "10.0.0.5"])
        #expect(resolved.endpoints == [DatabaseEndpoint(host: "db1", address: "10.0.0.5", port: 5432)])
        #expect(resolved.endpoints[0].description == #"host "db1" (10.0.0.5) port 5432"#)
        #expect(!resolved.endpoints[0].isSocket)
    }

    @Test("What the string gives wins over the environment's defaults, an empty value too")
    func givenBeatsDefaults() throws {
        var environment = defaults
        environment["host"] = "/tmp"
        environment["port"] = "7000"
        environment["dbname"] = "fromenv"
        let resolved = try options(["host": "", "dbname": "x"], defaults: environment)
        #expect(resolved.endpoints == [DatabaseEndpoint(host: "/var/run/postgresql", port: 7000)])
        #expect(resolved.database == "x")
        #expect(try options([:], defaults: environment).endpoints == [DatabaseEndpoint(host: "/tmp", port: 7000)])
    }

    @Test("Mismatched lists, bad ports and unknown attributes are refused with libpq's words")
    func refusals() {
        #expect(throws: ConnectionOptions.Invalid("could not match 3 port numbers to 2 hosts")) {
            try options(["host": "a,b", "port": "1,2,3"])
        }
        #expect(throws: ConnectionOptions.Invalid("could not match 2 host names to 1 hostaddr values")) {
            try options(["host": "a,b", "hostaddr": "10.0.0.1"])
        }
        #expect(throws: ConnectionOptions.Invalid(#"invalid port number: "x""#)) { try options(["port": "x"]) }
        #expect(throws: ConnectionOptions.Invalid(#"invalid port number: "70000""#)) { try options(["port": "70000"]) }
        #expect(throws: ConnectionOptions.Invalid(#"invalid target_session_attrs value: "master""#)) {
            try options(["target_session_attrs": "master"])
        }
    }

    @Test("connect_timeout below 2 s means 2 s, and zero means none")
    func connectTimeout() throws {
        #expect(try options(["connect_timeout": "1"]).connectTimeoutSeconds == 2)
        #expect(try options(["connect_timeout": "10"]).connectTimeoutSeconds == 10)
        #expect(try options(["connect_timeout": "0"]).connectTimeoutSeconds == nil)
    }

    @Test("The summary names every server and never the password")
    func summaryHidesPassword() throws {
        let summary = try options(["host": "a,b", "password": "s3cret", "user": "u"]).summary
        #expect(summary.contains(#"host "a" port 5432, host "b" port 5432"#))
        #expect(!summary.contains("s3cret"))
    }
}

/// What `target_session_attrs` accepts.
@Suite struct TargetSessionAttributesTests {
    @Test("read-write wants a primary that is not read-only; standby wants recovery; any takes all")
    func accepts() {
        #expect(TargetSessionAttributes.readWrite.accepts(inRecovery: false, readOnly: false))
        #expect(!TargetSessionAttributes.readWrite.accepts(inRecovery: true, readOnly: true))
        #expect(!TargetSessionAttributes.readWrite.accepts(inRecovery: false, readOnly: true))
        #expect(TargetSessionAttributes.primary.accepts(inRecovery: false, readOnly: true))
        #expect(TargetSessionAttributes.standby.accepts(inRecovery: true, readOnly: true))
        #expect(!TargetSessionAttributes.standby.accepts(inRecovery: false, readOnly: false))
        #expect(TargetSessionAttributes.readOnly.accepts(inRecovery: false, readOnly: true))
        #expect(TargetSessionAttributes.any.accepts(inRecovery: true, readOnly: true))
    }

    @Test("prefer-standby walks the hosts twice: standbys first, then any server")
    func preferStandbyPasses() {
        #expect(TargetSessionAttributes.preferStandby.passes == [.preferStandby, .any])
        #expect(TargetSessionAttributes.readWrite.passes == [.readWrite])
    }
}

/// libpq itself reads the text (explicit values only, so the test does not depend
/// on the PG* variables of the machine that runs it).
@Suite struct LibPQConnInfoTests {
    @Test("A multi-host URI gives the same endpoints as its keyword form")
    func uriAndKeywordsAgree() throws {
        let uri = try ConnectionOptions(conninfo: "postgresql://u:p%40ss@h1:5432,h2:5433/db?target_session_attrs=read-write")
        let keywords = try ConnectionOptions(
            conninfo: "host=h1,h2 port=5432,5433 user=u password='p@ss' dbname=db target_session_attrs=read-write")
        #expect(uri == keywords)
        #expect(uri.endpoints == [DatabaseEndpoint(host: "h1", port: 5432), DatabaseEndpoint(host: "h2", port: 5433)])
        #expect(uri.password == "p@ss")
        #expect(uri.targetSessionAttributes == .readWrite)
    }

    @Test("A socket folder in a URI is percent-encoded or given as host=")
    func socketInURI() throws {
        let encoded = try ConnectionOptions(conninfo: "postgresql://%2Frun%2Fpg:6000/db?user=u")
        let query = try ConnectionOptions(conninfo: "postgresql:///db?host=/run/pg&port=6000&user=u")
        #expect(encoded.endpoints == [DatabaseEndpoint(host: "/run/pg", port: 6000)])
        #expect(query == encoded)
    }

    @Test("Quoted keyword values keep their spaces and escaped quotes")
    func quoting() throws {
        let resolved = try ConnectionOptions(conninfo: #"host=/srv/pg dbname='my \'db\'' user=agentlive password=s3cr=t"#)
        #expect(resolved.database == "my 'db'")
        #expect(resolved.password == "s3cr=t")
    }

    @Test("libpq's compiled-in socket folder is an absolute path")
    func socketDirectory() {
        #expect(LibPQ.socketDirectory.hasPrefix("/"))
    }

    @Test("Without user=, libpq's default user is the PGUSER variable or the OS user, as the API's libpq uses")
    func defaultUser() throws {
        let resolved = try ConnectionOptions(conninfo: "host=/run/pg dbname=x")
        let expected = ProcessInfo.processInfo.environment["PGUSER"] ?? String(cString: getpwuid(geteuid())!.pointee.pw_name)
        #expect(resolved.user == expected)
    }

    @Test("libpq's own message for what it cannot parse")
    func parseErrors() {
        #expect(throws: ConnectionOptions.Invalid(#"invalid connection option "bogus""#)) {
            try ConnectionOptions(conninfo: "bogus=1")
        }
        #expect(throws: ConnectionOptions.Invalid.self) { try ConnectionOptions(conninfo: "dbname='open") }
        #expect(throws: ConnectionOptions.Invalid.self) { try ConnectionOptions(conninfo: "host") }
    }
}
