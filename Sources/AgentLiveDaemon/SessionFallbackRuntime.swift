import AgentLiveWire
import Foundation
import Synchronization

/// Resumes the claimed session when there is one, and starts afresh when the
/// agent CLI says that session is gone: it fails before any agent output with
/// an error naming a missing session. The transcript then says so, as an error
/// message, before the new session's messages.
public struct SessionFallbackRuntime: AgentRuntime {
    public var base: any AgentRuntime

    public init(_ base: any AgentRuntime) {
        self.base = base
    }

    /// How the CLIs say it (Claude Code: "No conversation found with session ID: …";
    /// Gemini CLI: "Invalid session identifier" / "Error resuming session"; Codex
    /// and opencode: "… session … not found"), compared in lower case.
    static let goneSignals = [
        "no conversation found", "session not found", "no saved session", "no session found", "could not find session",
        "invalid session", "error resuming session", "no rollout found", "thread not found", "conversation not found",
    ]

    static func saysSessionIsGone(_ text: String) -> Bool {
        let text = text.lowercased()
        return goneSignals.contains { text.contains($0) }
    }

    public func run(
        _ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Outcome {
        guard let id = task.resumeSessionID else { return try await base.run(task, in: directory, emit: emit) }
        let early = EarlyEvents(emit)
        let outcome = try await base.run(task, in: directory) { await early.receive($0) }
        if case .failed(let error) = outcome, let held = early.heldIfNoOutput,
            Self.saysSessionIsGone(([error] + held.compactMap(\.errorText)).joined(separator: "\n"))
        {
            await emit(.error("The previous session \(id) could not be resumed (\(error)); this run starts a new session."))
            var fresh = task
            fresh.resumeSessionID = nil
            return try await base.run(fresh, in: directory, emit: emit)
        }
        await early.release()
        return outcome
    }
}

/// Holds back what comes before the agent's first real output (errors, its
/// session id, usage), so a failed resume leaves nothing in the transcript.
final class EarlyEvents: Sendable {
    private let emit: @Sendable (AgentEvent) async -> Void
    /// nil once real output came and everything held was passed on.
    private let held = Mutex<[AgentEvent]?>([])

    init(_ emit: @escaping @Sendable (AgentEvent) async -> Void) {
        self.emit = emit
    }

    func receive(_ event: AgentEvent) async {
        switch event {
        case .error, .session, .usage, .finished:
            if held.withLock({ held in held?.append(event) != nil }) { return }
        default:
            await release()
        }
        await emit(event)
    }

    /// What was held, when the agent produced no real output.
    var heldIfNoOutput: [AgentEvent]? { held.withLock { $0 } }

    func release() async {
        for event in held.withLock({ held in defer { held = nil }; return held ?? [] }) { await emit(event) }
    }
}

extension AgentEvent {
    var errorText: String? { if case .error(let text) = self { text } else { nil } }
}
