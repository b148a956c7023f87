import AgentLiveConnInfo
import Testing

@testable import AgentLiveRelay

/// The relay's walk over the connection string's hosts, against pretend servers.
@Suite struct EndpointSearchTests {
    enum Server: Sendable {
        case down(String)
        case primary
        case standby
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs the search over these servers (one endpoint each, ports 1, 2, …); the
    /// endpoint chosen, or the error, and which ports were closed again.
    func search(_ servers: [Server], target: TargetSessionAttributes) async -> (Result<Int, DatabaseUnreachable>, closed: [Int]) {
        let endpoints = servers.indices.map { DatabaseEndpoint(host: "db\($0 + 1)", port: $0 + 1) }
        let closed = ClosedPorts()
        do {
            let (connection, endpoint) = try await firstSuitable(
                endpoints, target: target,
                open: { endpoint -> Int in
                    if case .down(let why) = servers[endpoint.port - 1] { throw Refused(description: why) }
                    return endpoint.port
                },
                state: { port in
                    if case .standby = servers[port - 1] { return ServerState(inRecovery: true, readOnly: true) }
                    return ServerState(inRecovery: false, readOnly: false)
                },
                close: { port in await closed.add(port) })
            #expect(connection == endpoint.port)
            return (.success(endpoint.port), await closed.ports)
        } catch {
            return (.failure(error), await closed.ports)
        }
    }

    actor ClosedPorts {
        var ports: [Int] = []
        func add(_ port: Int) { ports.append(port) }
    }

    @Test("Without target_session_attrs the first host that answers is taken")
    func firstThatAnswers() async throws {
        let (result, closed) = await search([.down("refused"), .standby, .primary], target: .any)
        #expect(try result.get() == 2)
        #expect(closed.isEmpty)
    }

    @Test("read-write passes over a standby (closing it) to the primary")
    func readWriteSkipsStandby() async throws {
        let (result, closed) = await search([.standby, .down("refused"), .primary], target: .readWrite)
        #expect(try result.get() == 3)
        #expect(closed == [1])
    }

    @Test("prefer-standby takes a standby later in the list, else any server")
    func preferStandby() async throws {
        #expect(try await search([.primary, .standby], target: .preferStandby).0.get() == 2)
        #expect(try await search([.primary, .down("gone")], target: .preferStandby).0.get() == 1)
    }

    @Test("When no host will do, the error names each host and port and what it answered")
    func errorNamesEveryHost() async {
        let (result, _) = await search([.down("Connection refused"), .standby], target: .readWrite)
        guard case .failure(let error) = result else { Issue.record("connected: \(result)"); return }
        #expect(error.description == "cannot connect to the database: "
            + #"host "db1" port 1: Connection refused; "#
            + #"host "db2" port 2: server is in recovery (target_session_attrs=read-write)"#)
    }

    @Test("A socket endpoint is named by its socket file in errors")
    func socketInErrors() {
        let error = DatabaseUnreachable(attempts: [(DatabaseEndpoint(host: "/run/pg", port: 5433), "No such file or directory")])
        #expect(error.description == #"cannot connect to the database: socket "/run/pg/.s.PGSQL.5433": No such file or directory"#)
    }

    @Test("Over TCP the relay refuses the sslmodes that require TLS instead of connecting without")
    func tlsModes() throws {
        var options = try ConnectionOptions(given: ["host": "db", "user": "u", "sslmode": "require"], defaults: [:], socketDirectory: "/run/pg")
        #expect(throws: DatabaseConnector.TLSUnsupported.self) {
            try DatabaseConnector(options: options).configuration(for: options.endpoints[0])
        }
        options.sslMode = "prefer"
        let configuration = try DatabaseConnector(options: options).configuration(for: options.endpoints[0])
        #expect(configuration.host == "db" && configuration.port == 5432 && configuration.username == "u")
        let socket = DatabaseEndpoint(host: "/run/pg", port: 5432)
        options.sslMode = "require"  // libpq uses no TLS over a Unix socket, whatever sslmode says
        #expect(try DatabaseConnector(options: options).configuration(for: socket).unixSocketPath == "/run/pg/.s.PGSQL.5432")
    }
}
