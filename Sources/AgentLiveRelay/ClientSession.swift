import AgentLiveCredentials
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// Who a live token belongs to, and how long it still works.
public struct RelayIdentity: Sendable, Equatable {
    public var user: String
    /// Time left before the token expires (sessions); nil if it does not.
    public var expiresIn: Duration?

    public init(user: String, expiresIn: Duration? = nil) {
        self.user = user
        self.expiresIn = expiresIn
    }
}

/// What a client session needs from the database.
public protocol RelayDirectory: Sendable {
    /// Who a token belongs to (user and session tokens only), or nil.
    func identity(for token: PresentedToken) async throws -> RelayIdentity?
    func canView(user: String, issue: String) async throws -> Bool
}

/// The client side of the protocol, one per connection: authentication (at the
/// upgrade or by a first `auth` frame), then `subscribe`/`unsubscribe` per issue.
/// Replies go through the client's outbox, in order with the events.
///
/// What it learns from the database it records in the hub only if no access change
/// (revocation, removed membership) arrived during the lookup; otherwise it looks
/// again (see `AccessIndex`).
public final class ClientSession: Sendable {
    public static let maxSubscriptions = 100

    private let outbox: ClientOutbox
    private let hub: Hub
    private let directory: any RelayDirectory
    private let user = Mutex<String?>(nil)
    private let subscribeLimit = Mutex(SubscribeRateLimit())

    /// How long a query may take before the client is answered `unavailable`.
    private let queryTimeout: Duration

    public init(outbox: ClientOutbox, hub: Hub, directory: any RelayDirectory, queryTimeout: Duration = .seconds(5)) {
        self.outbox = outbox
        self.hub = hub
        self.directory = directory
        self.queryTimeout = queryTimeout
    }

    public var isAuthenticated: Bool { user.withLock { $0 != nil } }

    private struct Inbound: Decodable {
        struct Payload: Decodable {
            var token: String?
            var issueID: String?
            enum CodingKeys: String, CodingKey { case token, issueID = "issue_id" }
        }
        var type: String
        var payload: Payload?
    }

    /// Credentials that came with the upgrade request (cookie or Bearer header), or
    /// in an `auth` frame. A database that does not answer is not a bad token: the
    /// client is told to come back (1013) rather than to sign in again.
    public func authenticate(_ presented: Result<PresentedToken, MalformedCredentials>) async {
        guard case .success(let token) = presented else { return refuseCredentials() }
        while true {
            let epoch = hub.accessEpoch
            let identity: RelayIdentity?
            do {
                identity = try await withDeadline(queryTimeout) { [directory] in try await directory.identity(for: token) }
            } catch {
                outbox.push(Frames.error("unavailable", "The database is unavailable; reconnect shortly."))
                outbox.requestClose(ClientOutbox.tryAgainLater, reason: "database unavailable")
                return
            }
            guard let identity else { return refuseCredentials() }
            // Recorded before anything can be subscribed, so a revocation from now on
            // finds this connection.
            guard hub.authorize(outbox, token: token.id, user: identity.user, ifEpoch: epoch) else {
                if !hub.isConnected(outbox) { return }
                continue
            }
            user.withLock { $0 = identity.user }
            outbox.authenticated(expiresAt: identity.expiresIn.map { .now + $0 })
            return
        }
    }

    private func refuseCredentials() {
        outbox.push(Frames.error("unauthorized", "Invalid, expired or revoked credentials."))
        outbox.requestClose(.policyViolation, reason: "unauthorized")
    }

    public func receive(_ text: String) async {
        guard let frame = try? JSONDecoder().decode(Inbound.self, from: Data(text.utf8)) else {
            outbox.push(Frames.error("invalid_message", #"Send JSON frames: {"type": …, "payload": {…}}."#))
            return
        }
        let current = user.withLock { $0 }
        switch (frame.type, current) {
        case ("auth", nil):
            let token = frame.payload?.token.flatMap { PresentedToken($0) }
            await authenticate(token.map { .success($0) } ?? .failure(MalformedCredentials()))
            if isAuthenticated { outbox.push(Frames.control("authenticated")) }
        case ("auth", _?):
            outbox.push(Frames.control("authenticated"))
        case ("subscribe", let user?):
            switch subscribeLimit.withLock({ $0.admit(now: .now) }) {
            case .allow:
                await subscribe(user: user, issue: frame.payload?.issueID)
            case .refuse:
                reject("rate_limited", "Too many subscribes; slow down.", canonicalIssue(frame.payload?.issueID))
            case .close:
                reject("rate_limited", "Too many subscribes.", canonicalIssue(frame.payload?.issueID))
                outbox.requestClose(.policyViolation, reason: "too many subscribes")
            }
        case ("unsubscribe", _?):
            guard let issue = canonicalIssue(frame.payload?.issueID) else {
                return reject("invalid_message", "unsubscribe needs a payload.issue_id.")
            }
            hub.unsubscribe(outbox, from: issue)
            outbox.push(Frames.control("unsubscribed", ["issue_id": issue]))
        case ("ping", _):
            outbox.push(Frames.control("pong"))
        case ("subscribe", nil), ("unsubscribe", nil):
            reject("unauthorized", #"Authenticate first: {"type":"auth","payload":{"token":…}}."#)
        default:
            reject("invalid_message", "Unknown frame type \(frame.type).")
        }
    }

    private func subscribe(user: String, issue text: String?) async {
        guard let issue = canonicalIssue(text) else {
            return reject("invalid_message", "subscribe needs a payload.issue_id (a UUID).")
        }
        guard hub.subscriptionCount(outbox) < Self.maxSubscriptions else {
            return reject("too_many_subscriptions", "At most \(Self.maxSubscriptions) issues per connection.", issue)
        }
        while true {
            let epoch = hub.accessEpoch
            do {
                guard try await withDeadline(queryTimeout, { [directory] in try await directory.canView(user: user, issue: issue) }) else {
                    // The same answer for an issue that does not exist: it reveals nothing.
                    return reject("forbidden", "You cannot watch this issue.", issue)
                }
            } catch {
                return reject("unavailable", "The database is unavailable; try again.", issue)
            }
            // nil: a membership may have gone during the query; ask again. (A revoked
            // connection is closing: what it is sent no longer goes out.)
            guard hub.subscribe(outbox, to: issue, ifEpoch: epoch) != nil else {
                if outbox.closeRequest != nil || !hub.isConnected(outbox) { return }
                continue
            }
            break
        }
        outbox.push(Frames.control("subscribed", ["issue_id": issue]))
    }

    private func reject(_ code: String, _ message: String, _ issue: String? = nil) {
        outbox.push(Frames.error(code, message, issueID: issue))
    }

    private func canonicalIssue(_ text: String?) -> String? {
        text.flatMap(UUID.init(uuidString:))?.uuidString.lowercased()
    }
}
