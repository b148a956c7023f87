import AgentLiveWire
import Foundation
import Synchronization

/// Stops an agent that goes silent for `idleTimeout` or runs longer than
/// `maxDuration`, and fails its task saying which limit and how long. Stopping
/// is cancelling the agent's run, which stops its whole process group.
public struct WatchdogRuntime: AgentRuntime {
    public var base: any AgentRuntime
    public var idleTimeout: Duration?
    public var maxDuration: Duration?

    public init(_ base: any AgentRuntime, idleTimeout: Duration?, maxDuration: Duration?) {
        self.base = base
        self.idleTimeout = idleTimeout
        self.maxDuration = maxDuration
    }

    public func run(
        _ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void
    ) async throws -> Outcome {
        guard idleTimeout != nil || maxDuration != nil else { return try await base.run(task, in: directory, emit: emit) }
        let activity = AgentActivity()
        let base = base
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                try await base.run(task, in: directory) { event in
                    // Time the daemon spends passing an event on (a slow server) is not the agent's silence.
                    activity.emitting(true)
                    await emit(event)
                    activity.emitting(false)
                }
            }
            group.addTask { try await watch(activity) }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return .failed(error: "the agent ended without a result") }
            return first
        }
    }

    /// Returns the failure once a limit is passed; ends by cancellation otherwise.
    private func watch(_ activity: AgentActivity) async throws -> Outcome {
        let start = ContinuousClock.now
        let shortest = [idleTimeout, maxDuration].compactMap { $0 }.min() ?? .seconds(1)
        let checkEvery = max(min(shortest / 10, .seconds(1)), .milliseconds(10))
        while true {
            try await Task.sleep(for: checkEvery)
            let now = ContinuousClock.now
            if let maxDuration, start.duration(to: now) >= maxDuration {
                return .failed(error: "ran for \(goDuration(maxDuration)) (--max-duration)")
            }
            if let idleTimeout, let since = activity.silentSince, since.duration(to: now) >= idleTimeout {
                return .failed(error: "no output for \(goDuration(idleTimeout)) (--idle-timeout)")
            }
        }
    }
}

/// When the agent last said anything.
final class AgentActivity: Sendable {
    private struct State {
        var lastOutput = ContinuousClock.now
        var emitting = false
    }

    private let state = Mutex(State())

    func emitting(_ value: Bool) {
        state.withLock {
            $0.emitting = value
            $0.lastOutput = .now
        }
    }

    /// nil while an event is being passed on.
    var silentSince: ContinuousClock.Instant? { state.withLock { $0.emitting ? nil : $0.lastOutput } }
}

/// A duration the way Go prints one, which is how operators write the flags:
/// 30m0s, 1h0m0s, 1.5s, 300ms.
public func goDuration(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    if seconds < 1 {
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return "\(formatted(milliseconds))ms"
    }
    let hours = seconds / 3600, minutes = seconds % 3600 / 60
    let rest = Double(seconds % 60) + Double(attoseconds) / 1e18
    let tail = "\(formatted(rest))s"
    if hours > 0 { return "\(hours)h\(minutes)m\(tail)" }
    if minutes > 0 { return "\(minutes)m\(tail)" }
    return tail
}

private func formatted(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
}
