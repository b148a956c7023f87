import AgentLiveCredentials
import Logging
import PostgresNIO

/// The relay's queries, over its shared query connections.
struct RelayDatabase: RelayDirectory {
    let client: QueryConnections
    let logger: Logger

    func user(for token: PresentedToken) async throws -> String? {
        guard token.kind != .daemon else { return nil }
        let rows = try await client.query(
            "select kind, secret_hash, user_id::text from agentlive.api_token(\(token.id)::uuid)", logger: logger)
        for try await (kind, hash, user) in rows.decode((String, String, String?).self) {
            guard kind == token.kind.rawValue, token.matches(storedHashHex: hash) else { return nil }
            return user
        }
        return nil
    }

    func canView(user: String, issue: String) async throws -> Bool {
        let rows = try await client.query(
            "select agentlive.relay_can_view(\(user)::uuid, \(issue)::uuid)", logger: logger)
        for try await allowed in rows.decode(Bool.self) { return allowed }
        return false
    }

    /// For each (task, after, through): the messages with after < seq <= through,
    /// ascending, each as its JSON document, keyed by task. One query for all.
    func messages(_ ranges: [(task: String, after: Int64, through: Int64)]) async throws -> [String: [(seq: Int64, json: String)]] {
        let rows = try await client.query(
            """
            select task_id::text, seq, message from agentlive.relay_messages(
                \(ranges.map(\.task))::uuid[], \(ranges.map(\.after)), \(ranges.map(\.through)))
            """, logger: logger)
        var result: [String: [(seq: Int64, json: String)]] = [:]
        for try await (task, seq, json) in rows.decode((String, Int64, String).self) {
            result[task, default: []].append((seq, json))
        }
        return result
    }

    func taskPayload(task: String) async throws -> String? {
        try await scalar("select agentlive.relay_task_payload(\(task)::uuid)::text")
    }

    func commentPayload(comment: String) async throws -> String? {
        try await scalar("select agentlive.relay_comment_payload(\(comment)::uuid)::text")
    }

    func reapLostDaemons(timeoutSeconds: Int) async throws -> Int {
        let rows = try await client.query(
            "select agentlive.reap_lost_daemons(make_interval(secs => \(timeoutSeconds)))", logger: logger)
        for try await count in rows.decode(Int32.self) { return Int(count) }
        return 0
    }

    private func scalar(_ query: PostgresQuery) async throws -> String? {
        let rows = try await client.query(query, logger: logger)
        for try await value in rows.decode(String?.self) { return value }
        return nil
    }
}
