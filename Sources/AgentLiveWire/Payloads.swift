// The seed protocol's payloads. JSON names are part of the external contract.

public struct TaskDispatchPayload: Codable, Sendable, Equatable {
    public var taskID: String
    public var issueID: String
    public var title: String
    public var description: String
    /// The agent's session of its latest ended run on this issue, to resume.
    public var resumeSessionID: String?

    public init(taskID: String, issueID: String, title: String, description: String, resumeSessionID: String? = nil) {
        self.taskID = taskID
        self.issueID = issueID
        self.title = title
        self.description = description
        self.resumeSessionID = resumeSessionID
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", issueID = "issue_id", title, description, resumeSessionID = "resume_session_id"
    }
}

/// What a run used, as its agent CLI reported it.
public struct TaskUsage: Codable, Sendable, Equatable {
    public var model: String?
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cacheReadTokens: Int64?
    public var cacheWriteTokens: Int64?
    public var costUSD: Double?

    public init(
        model: String? = nil, inputTokens: Int64, outputTokens: Int64, cacheReadTokens: Int64? = nil,
        cacheWriteTokens: Int64? = nil, costUSD: Double? = nil
    ) {
        self.model = model
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
    }

    enum CodingKeys: String, CodingKey {
        case model, inputTokens = "input_tokens", outputTokens = "output_tokens"
        case cacheReadTokens = "cache_read_tokens", cacheWriteTokens = "cache_write_tokens", costUSD = "cost_usd"
    }
}

public struct TaskProgressPayload: Codable, Sendable, Equatable {
    public var taskID: String?
    public var summary: String
    public var step: Int?
    public var total: Int?

    public init(taskID: String? = nil, summary: String, step: Int? = nil, total: Int? = nil) {
        self.taskID = taskID
        self.summary = summary
        self.step = step
        self.total = total
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", summary, step, total
    }
}

public struct TaskCompletedPayload: Codable, Sendable, Equatable {
    public var taskID: String?
    public var prURL: String?
    public var output: String?
    /// The agent's own session id, for a later run to resume.
    public var sessionID: String?
    public var usage: TaskUsage?

    public init(
        taskID: String? = nil, prURL: String? = nil, output: String? = nil, sessionID: String? = nil,
        usage: TaskUsage? = nil
    ) {
        self.taskID = taskID
        self.prURL = prURL
        self.output = output
        self.sessionID = sessionID
        self.usage = usage
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", prURL = "pr_url", output, sessionID = "session_id", usage
    }
}

public struct TaskFailedPayload: Codable, Sendable, Equatable {
    public var taskID: String?
    public var error: String
    public var sessionID: String?
    public var usage: TaskUsage?

    public init(taskID: String? = nil, error: String, sessionID: String? = nil, usage: TaskUsage? = nil) {
        self.taskID = taskID
        self.error = error
        self.sessionID = sessionID
        self.usage = usage
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", error, sessionID = "session_id", usage
    }
}

/// The kind of a task message. A string wrapper rather than an enum so that a
/// peer can decode a kind it does not know yet; the API rejects unknown kinds.
public struct TaskMessageType: RawRepresentable, Codable, Sendable, Hashable {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let text = TaskMessageType(rawValue: "text")
    public static let thinking = TaskMessageType(rawValue: "thinking")
    public static let toolUse = TaskMessageType(rawValue: "tool_use")
    public static let toolResult = TaskMessageType(rawValue: "tool_result")
    public static let error = TaskMessageType(rawValue: "error")
    public static let known: Set<TaskMessageType> = [.text, .thinking, .toolUse, .toolResult, .error]

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct TaskMessagePayload: Codable, Sendable, Equatable {
    public var taskID: String?
    public var issueID: String?
    public var seq: Int64
    public var type: TaskMessageType
    public var tool: String?
    /// Pairs a `tool_use` with its `tool_result`.
    public var callID: String?
    public var content: String?
    public var input: JSONValue?
    public var output: String?
    public var isError: Bool?
    /// Set by the server.
    public var createdAt: String?

    public init(
        taskID: String? = nil, issueID: String? = nil, seq: Int64, type: TaskMessageType,
        tool: String? = nil, callID: String? = nil, content: String? = nil, input: JSONValue? = nil,
        output: String? = nil, isError: Bool? = nil, createdAt: String? = nil
    ) {
        self.taskID = taskID
        self.issueID = issueID
        self.seq = seq
        self.type = type
        self.tool = tool
        self.callID = callID
        self.content = content
        self.input = input
        self.output = output
        self.isError = isError
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case taskID = "task_id", issueID = "issue_id", seq, type, tool, callID = "call_id"
        case content, input, output, isError = "is_error", createdAt = "created_at"
    }
}

public struct TaskMessageBatch: Codable, Sendable, Equatable {
    public var messages: [TaskMessagePayload]
    public init(messages: [TaskMessagePayload]) { self.messages = messages }
}

public struct TaskMessagesPage: Codable, Sendable, Equatable {
    public var messages: [TaskMessagePayload]
    public var lastSeq: Int64
    public var hasMore: Bool

    public init(messages: [TaskMessagePayload], lastSeq: Int64, hasMore: Bool) {
        self.messages = messages
        self.lastSeq = lastSeq
        self.hasMore = hasMore
    }

    enum CodingKeys: String, CodingKey {
        case messages, lastSeq = "last_seq", hasMore = "has_more"
    }
}

public struct IngestResult: Codable, Sendable, Equatable {
    public var accepted: Int
    public var duplicates: Int
    public var lastSeq: Int64

    public init(accepted: Int, duplicates: Int, lastSeq: Int64) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.lastSeq = lastSeq
    }

    enum CodingKeys: String, CodingKey {
        case accepted, duplicates, lastSeq = "last_seq"
    }
}

public struct RuntimeInfo: Codable, Sendable, Equatable {
    public var type: String
    public var version: String
    public var status: String

    public init(type: String, version: String, status: String) {
        self.type = type
        self.version = version
        self.status = status
    }
}

public struct DaemonRegisterPayload: Codable, Sendable, Equatable {
    public var daemonID: String
    public var agentID: String
    public var runtimes: [RuntimeInfo]

    public init(daemonID: String, agentID: String, runtimes: [RuntimeInfo]) {
        self.daemonID = daemonID
        self.agentID = agentID
        self.runtimes = runtimes
    }

    enum CodingKeys: String, CodingKey {
        case daemonID = "daemon_id", agentID = "agent_id", runtimes
    }
}

/// `current_tasks` is either the ids of the tasks the daemon runs (preferred:
/// the answer then names exactly which of them to stop) or only their count.
public enum CurrentTasks: Codable, Sendable, Equatable {
    case ids([String])
    case count(Int)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let count = try? container.decode(Int.self) {
            self = .count(count)
        } else {
            self = .ids(try container.decode([String].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .ids(let ids): try container.encode(ids)
        case .count(let count): try container.encode(count)
        }
    }
}

public struct HeartbeatPayload: Codable, Sendable, Equatable {
    public var daemonID: String
    public var agentID: String
    public var currentTasks: CurrentTasks

    public init(daemonID: String, agentID: String, currentTasks: CurrentTasks) {
        self.daemonID = daemonID
        self.agentID = agentID
        self.currentTasks = currentTasks
    }

    enum CodingKeys: String, CodingKey {
        case daemonID = "daemon_id", agentID = "agent_id", currentTasks = "current_tasks"
    }
}

public struct HeartbeatResponse: Codable, Sendable, Equatable {
    public var cancelTaskIDs: [String]
    public init(cancelTaskIDs: [String]) { self.cancelTaskIDs = cancelTaskIDs }
    enum CodingKeys: String, CodingKey { case cancelTaskIDs = "cancel_task_ids" }
}

public struct ClaimRequest: Codable, Sendable, Equatable {
    public var daemonID: String
    public var agentID: String

    public init(daemonID: String, agentID: String) {
        self.daemonID = daemonID
        self.agentID = agentID
    }

    enum CodingKeys: String, CodingKey { case daemonID = "daemon_id", agentID = "agent_id" }
}

/// `{"error": {"code": ..., "message": ...}}`, the body of every error response.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}
