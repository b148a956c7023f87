/// Which token and user each authenticated connection holds, so that credentials
/// that stop working (a revoked or deleted token, a removed membership) reach the
/// open connections. Pure state: the hub keeps it under its lock and does the I/O.
///
/// `epoch` counts the access changes seen. A client that looked something up in
/// the database (its token, whether it may view an issue) and then records the
/// answer here passes the epoch it read before the lookup: if a change arrived
/// meanwhile, the answer may predate it, and the client must look again. Without
/// that, a token revoked while its connection was authenticating would stay open.
struct AccessIndex<Connection: Hashable & Sendable>: Sendable {
    struct Holder: Equatable, Sendable {
        var token: String
        var user: String
    }

    private(set) var epoch: UInt64 = 0
    private var holders: [Connection: Holder] = [:]
    private var byToken: [String: Set<Connection>] = [:]
    private var byUser: [String: Set<Connection>] = [:]

    /// Records that `connection` authenticated with `holder`; false (and nothing
    /// recorded) when the access changed since `epoch`.
    mutating func add(_ connection: Connection, _ holder: Holder, ifEpoch epoch: UInt64) -> Bool {
        guard epoch == self.epoch else { return false }
        remove(connection)
        holders[connection] = holder
        byToken[holder.token, default: []].insert(connection)
        byUser[holder.user, default: []].insert(connection)
        return true
    }

    mutating func remove(_ connection: Connection) {
        guard let holder = holders.removeValue(forKey: connection) else { return }
        byToken[holder.token]?.remove(connection)
        if byToken[holder.token]?.isEmpty == true { byToken[holder.token] = nil }
        byUser[holder.user]?.remove(connection)
        if byUser[holder.user]?.isEmpty == true { byUser[holder.user] = nil }
        holders.releaseSpareCapacity()
    }

    func holder(of connection: Connection) -> Holder? { holders[connection] }

    /// The token no longer works: the connections that hold it, forgotten here (the
    /// caller closes them).
    mutating func revoke(token: String) -> Set<Connection> {
        epoch &+= 1
        let connections = byToken[token] ?? []
        for connection in connections { remove(connection) }
        return connections
    }

    /// The user lost a membership: the user's connections, whose subscriptions the
    /// caller checks again.
    mutating func membershipRemoved(user: String) -> Set<Connection> {
        epoch &+= 1
        return byUser[user] ?? []
    }

    func connections(user: String) -> Set<Connection> { byUser[user] ?? [] }
}
