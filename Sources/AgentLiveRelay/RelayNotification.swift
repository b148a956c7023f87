import Foundation

/// One NOTIFY on `agentlive_events`, as sent by the triggers in
/// sql/definitions/20_events.sql. It names what changed; the relay reads the rows
/// to build the event, unless the messages came along.
public enum RelayNotification: Equatable, Sendable {
    /// Messages from_seq...to_seq of a task were stored (by one statement).
    /// `documents` are their JSON documents, one per seq from `fromSeq`, when they
    /// fit in the notification; empty otherwise.
    case messages(issueID: String, taskID: String, fromSeq: Int64, toSeq: Int64, documents: [String] = [])
    /// A task changed state: `event` is task:queued, task:started, task:completed…
    case task(event: String, issueID: String, taskID: String)
    case progress(issueID: String, taskID: String, summary: String?, step: Int?, total: Int?)
    case comment(issueID: String, commentID: String)
    /// A token was revoked or deleted (sign-out, revoke_token, its user deleted).
    case tokenRevoked(tokenID: String)
    /// A user is no longer a member of a workspace.
    case memberRemoved(workspaceID: String, userID: String)

    private struct Payload: Decodable {
        var type: String
        var issueID: String?
        var taskID: String?
        var fromSeq: Int64?
        var toSeq: Int64?
        var summary: String?
        var step: Int?
        var total: Int?
        var commentID: String?
        var tokenID: String?
        var workspaceID: String?
        var userID: String?

        enum CodingKeys: String, CodingKey {
            case type, issueID = "issue_id", taskID = "task_id", fromSeq = "from_seq", toSeq = "to_seq"
            case summary, step, total, commentID = "comment_id"
            case tokenID = "token_id", workspaceID = "workspace_id", userID = "user_id"
        }
    }

    /// nil for a payload this relay does not understand (a newer server's event).
    /// The payload is a JSON object, then for inlined messages one JSON document
    /// per line (JSON text from PostgreSQL has no raw newlines).
    public init?(payload: String) {
        var lines = payload.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)[...]
        guard let header = lines.popFirst(),
            let raw = try? JSONDecoder().decode(Payload.self, from: Data(header))
        else { return nil }
        switch (raw.type, raw.tokenID, raw.workspaceID, raw.userID) {
        case ("auth:revoked", let token?, _, _):
            self = .tokenRevoked(tokenID: token.lowercased())
            return
        case ("member:removed", _, let workspace?, let user?):
            self = .memberRemoved(workspaceID: workspace.lowercased(), userID: user.lowercased())
            return
        default:
            break
        }
        guard let issueID = raw.issueID else { return nil }
        switch (raw.type, raw.taskID, raw.fromSeq, raw.toSeq, raw.commentID) {
        case ("task:message", let task?, let from?, let to?, _):
            // Documents that do not match the range one to one are not used.
            let documents = lines.count == to - from + 1 ? lines.map { String(Substring($0)) } : []
            self = .messages(issueID: issueID, taskID: task, fromSeq: from, toSeq: to, documents: documents)
        case ("task:progress", let task?, _, _, _):
            self = .progress(issueID: issueID, taskID: task, summary: raw.summary, step: raw.step, total: raw.total)
        case ("comment:created", _, _, _, let comment?):
            self = .comment(issueID: issueID, commentID: comment)
        case (let type, let task?, _, _, _) where type.hasPrefix("task:") && type != "task:message":
            self = .task(event: type, issueID: issueID, taskID: task)
        default:
            return nil
        }
    }

    /// The issue whose subscribers the event is for; nil for access changes.
    public var issueID: String? {
        switch self {
        case .messages(let issue, _, _, _, _), .task(_, let issue, _), .progress(let issue, _, _, _, _),
            .comment(let issue, _):
            return issue
        case .tokenRevoked, .memberRemoved:
            return nil
        }
    }
}
