import AgentLiveCredentials
import AgentLivePostgres
import AgentLiveWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes

// One function per endpoint. Each checks credentials, decodes and validates its
// input, then makes one database call, which owns the rules and the transaction.

extension AgentLiveAPI {
    func handle(_ endpoint: Endpoint, _ request: APIRequest, _ parameters: [String]) throws(APIError) -> APIResponse {
        guard request.body != nil else {
            throw APIError(.contentTooLarge, "body_too_large", "The request body is larger than \(configuration.maxBodyBytes) bytes.")
        }
        let id = parameters.first ?? ""
        switch endpoint {
        case .health: return health()
        case .signIn: return try signIn(request)
        case .signOut: return try signOut(request)
        case .me: return try document(.ok, .me, [requireUser(request)])
        case .agents: return try document(.ok, .agents, [requireUser(request)])
        case .listIssues: return try listIssues(request)
        case .createIssue: return try createIssue(request)
        case .issue: return try document(.ok, .issue, [requireUser(request), issueID(id)])
        case .assign: return try assign(request, issueID(id))
        case .activeTask: return try document(.ok, .activeTask, [requireUser(request), issueID(id)])
        case .activeTasks: return try document(.ok, .activeTasks, [requireUser(request), issueID(id)])
        case .timeline: return try document(.ok, .timeline, [requireUser(request), issueID(id)])
        case .createComment: return try createComment(request, issueID(id))
        case .task: return try document(.ok, .task, [requireUser(request), taskID(id)])
        case .cancelTask:
            let user = try requireUser(request)
            try RequestBody.checkContentType(request)
            return try document(.ok, .cancel, [user, taskID(id)])
        case .retryTask:
            let user = try requireUser(request)
            try RequestBody.checkContentType(request)
            return try document(.created, .retry, [user, taskID(id)])
        case .taskMessages, .daemonTaskMessages: return try messages(request, taskID(id))
        case .register: return try register(request)
        case .heartbeat: return try heartbeat(request)
        case .claim: return try claim(request)
        case .start:
            let daemon = try requireDaemon(request)
            try RequestBody.checkContentType(request)
            return try document(.ok, .start, [daemon.workspace, daemon.token, taskID(id)])
        case .progress: return try progress(request, taskID(id))
        case .ingest: return try ingest(request, taskID(id))
        case .complete: return try complete(request, taskID(id))
        case .fail: return try fail(request, taskID(id))
        }
    }

    private func issueID(_ text: String) throws(APIError) -> String {
        try Validate.pathID(text, notFound: APIError(.notFound, "issue_not_found", "No such issue."))
    }

    private func taskID(_ text: String) throws(APIError) -> String {
        try Validate.pathID(text, notFound: APIError(.notFound, "task_not_found", "No such task."))
    }

    // MARK: - Health and sessions

    private func health() -> APIResponse {
        do {
            _ = try query("select 1", [String?]())
            return .json(.ok, #"{"status":"ok"}"#)
        } catch {
            return APIError.databaseUnavailable.response
        }
    }

    private struct SignIn: Decodable {
        var email: String
        var password: String
    }

    private struct SignInResult: Decodable {
        var token: String?
        var user: JSONValue?
        var error: String?
    }

    private func signIn(_ request: APIRequest) throws(APIError) -> APIResponse {
        let body = try RequestBody.decode(SignIn.self, from: request)
        try Validate.text(body.email, field: "email", maxBytes: 320)
        try Validate.text(body.password, field: "password", maxBytes: 1024)
        guard
            let document = try call(.login, [body.email, body.password, String(configuration.sessionTTLSeconds), request.clientAddress]),
            let result = try? JSONDecoder().decode(SignInResult.self, from: Data(document.utf8)),
            let token = result.token, let user = result.user
        else {
            throw APIError(.unauthorized, "invalid_credentials", "Wrong email or password.")
        }
        var response = APIResponse.json(.ok, encoding: ["user": user])
        response.head.headerFields[.setCookie] = sessionCookie(token, maxAge: configuration.sessionTTLSeconds, request)
        return response
    }

    private func signOut(_ request: APIRequest) throws(APIError) -> APIResponse {
        try RequestBody.checkContentType(request)
        if case .user(_, let tokenID, true)? = try? authenticate(request) {
            _ = try call(.logout, [tokenID])
        }
        var response = APIResponse.noContent
        response.head.headerFields[.setCookie] = sessionCookie("", maxAge: 0, request)
        return response
    }

    /// HttpOnly so page scripts never see it; Secure whenever the page is served over
    /// HTTPS (AGENTLIVE_PUBLIC_ORIGIN says so behind a proxy that terminates TLS).
    private func sessionCookie(_ value: String, maxAge: Int, _ request: APIRequest) -> String {
        let https = configuration.publicOrigin.map { $0.hasPrefix("https://") } ?? (request.head.scheme == "https")
        let secure = https ? "; Secure" : ""
        return "\(PresentedToken.sessionCookie)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)\(secure)"
    }

    // MARK: - Issues

    private func listIssues(_ request: APIRequest) throws(APIError) -> APIResponse {
        let user = try requireUser(request)
        var workspace: String?
        if let text = request.query["workspace_id"] {
            guard let uuid = UUID(uuidString: text) else {
                throw APIError(.badRequest, "invalid_query", "workspace_id must be a UUID.")
            }
            workspace = uuid.uuidString.lowercased()
        }
        return try document(.ok, .issues, [user, workspace])
    }

    private struct NewIssue: Decodable {
        var title: String
        var description: String?
        var workspaceID: String?
        enum CodingKeys: String, CodingKey { case title, description, workspaceID = "workspace_id" }
    }

    private func createIssue(_ request: APIRequest) throws(APIError) -> APIResponse {
        let user = try requireUser(request)
        let body = try RequestBody.decode(NewIssue.self, from: request)
        try Validate.nonEmpty(body.title, field: "title")
        try Validate.text(body.title, field: "title", maxBytes: 2000)
        // Counted as PostgreSQL counts (code points), not as grapheme clusters.
        if body.title.unicodeScalars.count > 500 { throw .invalidValue("Field 'title' is longer than 500 characters.") }
        try Validate.text(body.description, field: "description", maxBytes: configuration.maxContentBytes)
        let workspace = try body.workspaceID.map { (text) throws(APIError) in try Validate.uuid(text, field: "workspace_id") }
        return try document(.created, .createIssue, [user, workspace, body.title, body.description ?? ""])
    }

    private struct Assignment: Decodable {
        var agentID: String
        enum CodingKeys: String, CodingKey { case agentID = "agent_id" }
    }

    private func assign(_ request: APIRequest, _ issue: String) throws(APIError) -> APIResponse {
        let user = try requireUser(request)
        let body = try RequestBody.decode(Assignment.self, from: request)
        return try document(.created, .assign, [user, issue, Validate.uuid(body.agentID, field: "agent_id")])
    }

    private struct NewComment: Decodable {
        var content: String
    }

    private func createComment(_ request: APIRequest, _ issue: String) throws(APIError) -> APIResponse {
        let user = try requireUser(request)
        let body = try RequestBody.decode(NewComment.self, from: request)
        try Validate.nonEmpty(body.content, field: "content")
        try Validate.text(body.content, field: "content", maxBytes: configuration.maxContentBytes)
        return try document(.created, .createComment, [user, issue, body.content])
    }

    // MARK: - Messages

    private func messages(_ request: APIRequest, _ task: String) throws(APIError) -> APIResponse {
        let principal = try authenticate(request)
        let query = request.query
        let after = try queryInteger(query["after"], name: "after", default: 0, range: 0...Int64.max)
        let limit = try queryInteger(
            query["limit"], name: "limit", default: Int64(configuration.defaultPageSize),
            range: 1...Int64(configuration.maxPageSize))
        let (user, workspace): (String?, String?) =
            switch principal {
            case .user(let id, _, _): (id, nil)
            case .daemon(let workspace, _): (nil, workspace)
            }
        return try document(.ok, .messages, [user, workspace, task, String(after), String(limit)])
    }

    private func queryInteger(
        _ text: String?, name: String, default value: Int64, range: ClosedRange<Int64>
    ) throws(APIError) -> Int64 {
        guard let text else { return value }
        guard let number = Int64(text), range.contains(number) else {
            throw APIError(.badRequest, "invalid_query", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound).")
        }
        return number
    }

    /// The hot path: one database call per batch, which checks the daemon's token
    /// itself (api_ingest, sql/definitions/45_ingest.sql), so a bad body is answered before a bad daemon token.
    private func ingest(_ request: APIRequest, _ task: String) throws(APIError) -> APIResponse {
        guard case .success(let token)? = PresentedToken.from(request.head.headerFields), token.kind == .daemon else {
            _ = try requireDaemon(request)  // no daemon token: 401 or 403 as on every daemon endpoint
            throw .unauthorized
        }
        let body = try RequestBody.jsonObject(from: request)
        let columns = try MessageValidator(configuration: configuration, taskID: task).validate(body)
        let response = try document(.ok, .ingest, [.text(token.id), .binary(token.digest), .text(task)] + columns.parameters)
        events.messagesIngested(APIEvents.accepted(in: response.body))
        return response
    }

    // MARK: - Daemons

    private func register(_ request: APIRequest) throws(APIError) -> APIResponse {
        let daemon = try requireDaemon(request)
        let body = try RequestBody.decode(DaemonRegisterPayload.self, from: request)
        guard body.runtimes.count <= 32 else { throw .invalidValue("At most 32 runtimes.") }
        for (index, runtime) in body.runtimes.enumerated() {
            for (name, value) in [("type", runtime.type), ("version", runtime.version), ("status", runtime.status)] {
                try Validate.text(value, field: "runtimes[\(index)].\(name)", maxBytes: 200)
            }
        }
        guard let runtimes = try? JSONCoding.encoder.encode(body.runtimes) else { throw .internalError }
        return try document(.ok, .register, [
            daemon.workspace, daemon.token, Validate.uuid(body.daemonID, field: "daemon_id"),
            Validate.uuid(body.agentID, field: "agent_id"), String(decoding: runtimes, as: UTF8.self),
        ])
    }

    private func heartbeat(_ request: APIRequest) throws(APIError) -> APIResponse {
        let caller = try requireDaemon(request)
        let body = try RequestBody.decode(HeartbeatPayload.self, from: request)
        let daemon = try Validate.uuid(body.daemonID, field: "daemon_id")
        _ = try Validate.uuid(body.agentID, field: "agent_id")
        let current: CurrentTasks
        switch body.currentTasks {
        case .count(let count):
            guard count >= 0 else { throw .invalidValue("Field 'current_tasks' must not be negative.") }
            current = .count(count)
        case .ids(let ids):
            guard ids.count <= 1000 else { throw .invalidValue("At most 1000 current tasks.") }
            var canonical: [String] = []
            for (index, id) in ids.enumerated() {
                canonical.append(try Validate.uuid(id, field: "current_tasks[\(index)]"))
            }
            current = .ids(canonical)
        }
        guard let encoded = try? JSONCoding.encoder.encode(current) else { throw .internalError }
        return try document(.ok, .heartbeat, [caller.workspace, caller.token, daemon, String(decoding: encoded, as: UTF8.self)])
    }

    private func claim(_ request: APIRequest) throws(APIError) -> APIResponse {
        let daemon = try requireDaemon(request)
        let body = try RequestBody.decode(ClaimRequest.self, from: request)
        let dispatch = try call(.claim, [
            daemon.workspace, daemon.token, Validate.uuid(body.daemonID, field: "daemon_id"),
            Validate.uuid(body.agentID, field: "agent_id"),
        ])
        guard let dispatch else { return .noContent }
        return .json(.ok, dispatch)
    }

    private func progress(_ request: APIRequest, _ task: String) throws(APIError) -> APIResponse {
        let daemon = try requireDaemon(request)
        let body = try RequestBody.decode(TaskProgressPayload.self, from: request)
        try Validate.sameTask(body.taskID, task)
        try Validate.text(body.summary, field: "summary", maxBytes: configuration.maxSummaryCharacters * 4)
        if body.summary.unicodeScalars.count > configuration.maxSummaryCharacters {
            throw .invalidValue("Field 'summary' is longer than \(configuration.maxSummaryCharacters) characters.")
        }
        if let step = body.step, step < 0 { throw .invalidValue("Field 'step' must not be negative.") }
        if let total = body.total, total < 0 { throw .invalidValue("Field 'total' must not be negative.") }
        if let step = body.step, let total = body.total, step > total {
            throw .invalidValue("Field 'step' must not exceed 'total'.")
        }
        return try document(.ok, .progress, [
            daemon.workspace, daemon.token, task, body.summary, body.step.map(String.init), body.total.map(String.init),
        ])
    }

    private func complete(_ request: APIRequest, _ task: String) throws(APIError) -> APIResponse {
        let daemon = try requireDaemon(request)
        // Every field is optional, so no body at all is a completion without output.
        let body = request.body?.isEmpty == false
            ? try RequestBody.decode(TaskCompletedPayload.self, from: request) : TaskCompletedPayload()
        try Validate.sameTask(body.taskID, task)
        try Validate.text(body.output, field: "output", maxBytes: configuration.maxContentBytes, tooLarge: .messageTooLarge)
        try Validate.text(body.prURL, field: "pr_url", maxBytes: 2000)
        if let url = body.prURL { try Validate.webURL(url, field: "pr_url") }
        let run = try RunReport(sessionID: body.sessionID, usage: body.usage)
        return try document(.ok, .complete, [daemon.workspace, daemon.token, task, body.output, body.prURL, run.sessionID, run.usage])
    }

    private func fail(_ request: APIRequest, _ task: String) throws(APIError) -> APIResponse {
        let daemon = try requireDaemon(request)
        let body = try RequestBody.decode(TaskFailedPayload.self, from: request)
        try Validate.sameTask(body.taskID, task)
        try Validate.text(body.error, field: "error", maxBytes: configuration.maxContentBytes, tooLarge: .messageTooLarge)
        let run = try RunReport(sessionID: body.sessionID, usage: body.usage)
        return try document(.ok, .fail, [daemon.workspace, daemon.token, task, body.error, run.sessionID, run.usage])
    }
}

/// The session id and usage a daemon reports at the end of a run, checked, as the
/// text parameters the SQL takes (usage as a JSON document).
struct RunReport {
    var sessionID: String?
    var usage: String?

    init(sessionID: String?, usage: TaskUsage?) throws(APIError) {
        if let sessionID {
            try Validate.nonEmpty(sessionID, field: "session_id")
            try Validate.text(sessionID, field: "session_id", maxBytes: 200)
        }
        self.sessionID = sessionID
        guard let usage else { return }
        try Validate.text(usage.model, field: "usage.model", maxBytes: 200)
        if let model = usage.model { try Validate.nonEmpty(model, field: "usage.model") }
        let counts = [
            ("input_tokens", usage.inputTokens), ("output_tokens", usage.outputTokens),
            ("cache_read_tokens", usage.cacheReadTokens ?? 0), ("cache_write_tokens", usage.cacheWriteTokens ?? 0),
        ]
        for (name, count) in counts where count < 0 {
            throw .invalidValue("Field 'usage.\(name)' must not be negative.")
        }
        if let cost = usage.costUSD, !(cost.isFinite && cost >= 0 && cost < 1e8) {
            throw .invalidValue("Field 'usage.cost_usd' must be a non-negative amount below 100,000,000.")
        }
        guard let encoded = try? JSONCoding.encoder.encode(usage) else { throw .internalError }
        self.usage = String(decoding: encoded, as: UTF8.self)
    }
}
