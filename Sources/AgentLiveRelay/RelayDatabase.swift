import AgentLiveCredentials
import Logging
import PostgresNIO

/// The relay's queries, over its shared query connections.
struct RelayDatabase: RelayDirectory {
    let client: QueryConnections
    let logger: Logger

    /// The token's user and the time it has left, measured by the database's clock.
    func identity(for token: PresentedToken) async throws -> RelayIdentity? {
        guard token.kind != .daemon else { return nil }
        let rows = try await client.query(
            "select kind, secret_hash, user_id::text, expires_in from agentlive.relay_token(\(token.id)::uuid)",
            logger: logger)
        for try await (kind, hash, user, seconds) in rows.decode((String, String, String?, Double?).self) {
            guard kind == token.kind.rawValue, token.matches(storedHashHex: hash), let user else { return nil }
            return RelayIdentity(user: user, expiresIn: seconds.map { .milliseconds(Int64(max(0, $0) * 1000)) })
        }
        return nil
    }

    /// Of `issues`, those the user may no longer view.
    func notViewable(user: String, issues: [String]) async throws -> Set<String> {
        let rows = try await client.query(
            """
            select i::text from unnest(\(issues)::uuid[]) i
            where not agentlive.relay_can_view(\(user)::uuid, i)
            """, logger: logger)
        var lost: Set<String> = []
        for try await issue in rows.decode(String.self) { lost.insert(issue) }
        return lost
    }

    /// Of `tokens` (ids), those that no longer work: revoked, deleted or expired.
    func deadTokens(_ tokens: [String]) async throws -> Set<String> {
        let rows = try await client.query(
            """
            select t::text from unnest(\(tokens)::uuid[]) t
            where not exists (select 1 from agentlive.api_token(t))
            """, logger: logger)
        var dead: Set<String> = []
        for try await token in rows.decode(String.self) { dead.insert(token) }
        return dead
    }

    /// Of the (user, issue) pairs, those where the user may no longer view the issue.
    func lostViews(_ pairs: [(user: String, issue: String)]) async throws -> [(user: String, issue: String)] {
        let rows = try await client.query(
            """
            select u::text, i::text from unnest(\(pairs.map(\.user))::uuid[], \(pairs.map(\.issue))::uuid[]) as p(u, i)
            where not agentlive.relay_can_view(u, i)
            """, logger: logger)
        var lost: [(user: String, issue: String)] = []
        for try await (user, issue) in rows.decode((String, String).self) { lost.append((user, issue)) }
        return lost
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
