import AgentLiveCredentials
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization

/// What a client session needs from the database.
public protocol RelayDirectory: Sendable {
    /// The user id a token belongs to (user and session tokens only), or nil.
    func user(for token: PresentedToken) async throws -> String?
    func canView(user: String, issue: String) async throws -> Bool
}

/// The client side of the protocol, one per connection: authentication (at the
/// upgrade or by a first `auth` frame), then `subscribe`/`unsubscribe` per issue.
/// Replies go through the client's outbox, in order with the events.
public final class ClientSession: Sendable {
    public static let maxSubscriptions = 100

    private let outbox: ClientOutbox
    private let hub: Hub
    private let directory: any RelayDirectory
    private let user = Mutex<String?>(nil)

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
        let id: String?
        do {
            guard case .success(let token) = presented else { throw MalformedCredentials() }
            id = try await withDeadline(queryTimeout) { [directory] in try await directory.user(for: token) }
        } catch is MalformedCredentials {
            id = nil
        } catch {
            outbox.push(Frames.error("unavailable", "The database is unavailable; reconnect shortly."))
            outbox.requestClose(ClientOutbox.tryAgainLater, reason: "database unavailable")
            return
        }
        guard let id else {
            outbox.push(Frames.error("unauthorized", "Invalid, expired or revoked credentials."))
            outbox.requestClose(.policyViolation, reason: "unauthorized")
            return
        }
        user.withLock { $0 = id }
        outbox.authenticated()
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
            await subscribe(user: user, issue: frame.payload?.issueID)
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
        do {
            guard try await withDeadline(queryTimeout, { [directory] in try await directory.canView(user: user, issue: issue) }) else {
                // The same answer for an issue that does not exist: it reveals nothing.
                return reject("forbidden", "You cannot watch this issue.", issue)
            }
        } catch {
            return reject("unavailable", "The database is unavailable; try again.", issue)
        }
        hub.subscribe(outbox, to: issue)
        outbox.push(Frames.control("subscribed", ["issue_id": issue]))
    }

    private func reject(_ code: String, _ message: String, _ issue: String? = nil) {
        outbox.push(Frames.error(code, message, issueID: issue))
    }

    private func canonicalIssue(_ text: String?) -> String? {
        text.flatMap(UUID.init(uuidString:))?.uuidString.lowercased()
    }
}
