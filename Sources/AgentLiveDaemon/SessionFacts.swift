import AgentLiveWire
import Synchronization

/// What a run tells about itself rather than about its work: the agent's
/// session id and its usage. They are not messages; they go with the task's
/// complete or fail, whichever ends it.
final class SessionFacts: Sendable {
    private struct State {
        var sessionID: String?
        var usage: TaskUsage?
    }

    private let state = Mutex(State())

    /// Keeps a session or usage event (the latest wins) and says whether it was one.
    func take(_ event: AgentEvent) -> Bool {
        switch event {
        case .session(let id):
            // The server takes a non-empty id of up to 200 bytes; another could not be resumed anyway.
            if !id.isEmpty, id.utf8.count <= 200 { state.withLock { $0.sessionID = id } }
            return true
        case .usage(let usage):
            state.withLock { $0.usage = usage.acceptable }
            return true
        default:
            return false
        }
    }

    var sessionID: String? { state.withLock { $0.sessionID } }
    var usage: TaskUsage? { state.withLock { $0.usage } }
}

extension TaskUsage {
    /// Within what the server accepts (no negative counts, a plausible cost, a
    /// short model name), so hostile output cannot make the task's end refused.
    var acceptable: TaskUsage {
        var usage = self
        usage.inputTokens = max(0, inputTokens)
        usage.outputTokens = max(0, outputTokens)
        usage.cacheReadTokens = cacheReadTokens.map { max(0, $0) }
        usage.cacheWriteTokens = cacheWriteTokens.map { max(0, $0) }
        usage.costUSD = costUSD.flatMap { $0.isFinite && $0 >= 0 && $0 < 1e8 ? $0 : nil }
        usage.model = model.flatMap { $0.isEmpty || $0.utf8.count > 200 ? nil : $0 }
        return usage
    }
}
