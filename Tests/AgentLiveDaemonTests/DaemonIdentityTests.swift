@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Logging
import Synchronization
import Testing

/// A server where another token already registered `takenID` in the workspace.
final class WorkspaceServer: DaemonAPI, Sendable {
    struct State {
        var registered: [String] = []
        var claimedBy: [String] = []
        var claims = 0
        var completed = false
    }

    let takenID: String
    let state = Mutex(State())

    init(takenID: String) { self.takenID = takenID }

    func register(_ payload: DaemonRegisterPayload) async throws(DaemonAPIError) {
        state.withLock { $0.registered.append(payload.daemonID) }
        if payload.daemonID == takenID {
            throw .rejected(status: 409, code: "daemon_id_taken", message: "this daemon id belongs to another token")
        }
    }

    func heartbeat(_ payload: HeartbeatPayload) async throws(DaemonAPIError) -> [String] { [] }

    func claim(_ request: ClaimRequest) async throws(DaemonAPIError) -> TaskDispatchPayload? {
        state.withLock { state in
            state.claimedBy.append(request.daemonID)
            state.claims += 1
            return state.claims == 1 ? TaskDispatchPayload(taskID: "t1", issueID: "i1", title: "x", description: "") : nil
        }
    }

    func start(task: String) async throws(DaemonAPIError) {}
    func progress(task: String, _ payload: TaskProgressPayload) async throws(DaemonAPIError) {}
    func post(task: String, _ batch: TaskMessageBatch) async throws(DaemonAPIError) -> IngestResult {
        IngestResult(accepted: batch.messages.count, duplicates: 0, lastSeq: batch.messages.last?.seq ?? 0)
    }
    func complete(task: String, _ payload: TaskCompletedPayload) async throws(DaemonAPIError) {
        state.withLock { $0.completed = true }
    }
    func fail(task: String, _ payload: TaskFailedPayload) async throws(DaemonAPIError) {}
}

@Suite struct DaemonIdentityTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentlive-state-\(UUID().uuidString)")
    static let tokenID = "0123456789abcdef0123456789abcdef"
    static let secret = String(repeating: "5e", count: 24)
    let token = "ald_\(tokenID)_\(secret)"

    @Test func theIdIsKeptPerServerAndToken() throws {
        let first = try DaemonIdentity(stateDirectory: folder, server: "https://a.example", token: token).load()
        #expect(try DaemonIdentity(stateDirectory: folder, server: "https://a.example/", token: token).load() == first)
        let otherServer = try DaemonIdentity(stateDirectory: folder, server: "https://b.example", token: token).load()
        let otherToken = try DaemonIdentity(
            stateDirectory: folder, server: "https://a.example", token: "ald_\(String(repeating: "f", count: 32))_\(Self.secret)"
        ).load()
        #expect(Set([first, otherServer, otherToken]).count == 3)
        // Neither the token's secret nor its id is written anywhere.
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let content = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(!(name + content).contains(Self.secret) && !(name + content).contains(Self.tokenID))
        }
    }

    @Test func theIdOfTheSingleStateFileIsAdopted() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let old = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
        try old.write(to: folder.appendingPathComponent("daemon-id"), atomically: true, encoding: .utf8)
        #expect(try DaemonIdentity(stateDirectory: folder, server: "https://a.example", token: token).load() == old)
    }

    @Test func anIdTakenByAnotherTokenIsReplacedSavedAndRegistered() async throws {
        let identity = DaemonIdentity(stateDirectory: folder, server: "https://a.example", token: token)
        let taken = try identity.load()
        let server = WorkspaceServer(takenID: taken)
        var settings = Daemon.Settings(daemonID: taken, agentID: "agent")
        settings.once = true
        settings.newDaemonID = { try identity.renew() }
        let daemon = Daemon(
            settings: settings, api: server, runtime: ScriptedRuntime(events: [.text("hi")]),
            workRoot: folder.appendingPathComponent("work"), redactor: try Redactor(), logger: Logger(label: "test"))
        try await daemon.run()

        let state = server.state.withLock { $0 }
        let saved = try identity.load()
        #expect(saved != taken)
        #expect(state.registered == [taken, saved])
        #expect(state.claimedBy == [saved])
        #expect(state.completed)
    }
}
