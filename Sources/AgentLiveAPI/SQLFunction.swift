/// A function of schema `agentlive` that the API calls, with its argument types.
/// The call casts every argument to its type, so PostgreSQL resolves exactly this
/// signature, and a test holds every signature here to `pg_proc`.
public struct SQLFunction: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let arguments: [String]

    init(_ name: String, _ arguments: String...) {
        self.name = name
        self.arguments = arguments
    }

    /// `agentlive.api_me(uuid)`: what `to_regprocedure` takes.
    public var description: String { "agentlive.\(name)(\(arguments.joined(separator: ", ")))" }

    /// `select agentlive.api_me($1::uuid)`.
    var callSQL: String {
        let placeholders = arguments.enumerated().map { "$\($0.offset + 1)::\($0.element)" }
        return "select agentlive.\(name)(\(placeholders.joined(separator: ", ")))"
    }

    static let token = SQLFunction("api_token", "uuid")
    static let touchToken = SQLFunction("touch_token", "uuid")
    static let login = SQLFunction("api_login", "text", "text", "integer", "inet")
    static let logout = SQLFunction("api_logout", "uuid")
    static let me = SQLFunction("api_me", "uuid")
    static let agents = SQLFunction("api_agents", "uuid")
    static let issues = SQLFunction("api_issues", "uuid", "uuid")
    static let createIssue = SQLFunction("api_create_issue", "uuid", "uuid", "text", "text")
    static let issue = SQLFunction("api_issue", "uuid", "uuid")
    static let assign = SQLFunction("api_assign", "uuid", "uuid", "uuid")
    static let activeTask = SQLFunction("api_active_task", "uuid", "uuid")
    static let activeTasks = SQLFunction("api_active_tasks", "uuid", "uuid")
    static let timeline = SQLFunction("api_timeline", "uuid", "uuid")
    static let createComment = SQLFunction("api_create_comment", "uuid", "uuid", "text")
    static let task = SQLFunction("api_task", "uuid", "uuid")
    static let cancel = SQLFunction("api_cancel", "uuid", "uuid")
    static let retry = SQLFunction("api_retry", "uuid", "uuid")
    static let messages = SQLFunction("api_messages", "uuid", "uuid", "uuid", "bigint", "integer")
    static let register = SQLFunction("api_register", "uuid", "uuid", "uuid", "uuid", "jsonb")
    static let heartbeat = SQLFunction("api_heartbeat", "uuid", "uuid", "uuid", "jsonb")
    static let claim = SQLFunction("api_claim", "uuid", "uuid", "uuid", "uuid")
    static let start = SQLFunction("api_start", "uuid", "uuid", "uuid")
    static let progress = SQLFunction("api_progress", "uuid", "uuid", "uuid", "text", "integer", "integer")
    static let ingest = SQLFunction(
        "api_ingest", "uuid", "bytea", "uuid", "bigint[]", "text[]", "text[]", "text[]", "text[]", "text[]", "text[]",
        "boolean[]")
    static let complete = SQLFunction("api_complete", "uuid", "uuid", "uuid", "text", "text", "text", "jsonb")
    static let fail = SQLFunction("api_fail", "uuid", "uuid", "uuid", "text", "text", "jsonb")

    public static let all: [SQLFunction] = [
        token, touchToken, login, logout, me, agents, issues, createIssue, issue, assign, activeTask, activeTasks,
        timeline, createComment, task, cancel, retry, messages, register, heartbeat, claim, start, progress, ingest,
        complete, fail,
    ]
}
