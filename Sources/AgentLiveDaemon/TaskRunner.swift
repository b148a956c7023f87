import AgentLiveWire
import Foundation
import Logging
import Synchronization

/// Why a task stopped before its agent finished.
public enum StopReason: Sendable, Equatable {
    /// Cancelled on the server (heartbeat, or a 409 task_not_active): nothing to report.
    case cancelledByServer
    /// The daemon is shutting down: the task is failed so it does not hang.
    case daemonStopping
}

final class StopSignal: Sendable {
    private let reason = Mutex<StopReason?>(nil)

    /// The first reason wins.
    func set(_ value: StopReason) { reason.withLock { if $0 == nil { $0 = value } } }
    var value: StopReason? { reason.withLock { $0 } }
}

/// Runs one task from claim to its end: starts it, runs the agent, streams its
/// messages in batches (retrying the same batch while the server is unreachable),
/// reports progress, then completes or fails it.
struct TaskRunner: Sendable {
    var api: any DaemonAPI
    var runtime: any AgentRuntime
    var workRoot: URL
    var sanitizer: MessageSanitizer
    var bufferLimitBytes = 64 << 20
    var throttleInterval: Duration = .milliseconds(500)
    var batchMaxCount = 500
    var batchMaxBytes = 3 << 20
    var logger: Logger

    private enum Part: Sendable {
        case runtime(Outcome)
        case sender(serverCancelled: Bool)
        case other
    }

    func run(_ task: TaskDispatchPayload, stop: StopSignal) async {
        let logger = logger.with("task", task.taskID)
        do {
            try await withRetry { () throws(DaemonAPIError) in try await api.start(task: task.taskID) }
        } catch DaemonAPIError.taskNotActive {
            logger.info("task was cancelled before it started")
            return
        } catch {
            logger.error("cannot start the task: \(error)")
            if !(error is CancellationError) { await report(.failed(error: "cannot start: \(error)"), task, logger) }
            return
        }
        logger.info("task started", metadata: ["title": "\(task.title)"])

        let directory = workRoot.appendingPathComponent(task.taskID, isDirectory: true)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pipeline = MessagePipeline(
            buffer: MessageBuffer(limitBytes: bufferLimitBytes), sanitizer: sanitizer, throttleInterval: throttleInterval)

        let facts = SessionFacts()
        var outcome: Outcome?
        var serverCancelled = false
        await withTaskGroup(of: Part.self) { group in
            group.addTask {
                do {
                    let outcome = try await runtime.run(task, in: directory) { event in
                        if !facts.take(event) { await pipeline.receive(event) }
                    }
                    pipeline.finish()
                    return .runtime(outcome)
                } catch {
                    pipeline.finish()
                    return .runtime(.failed(error: Task.isCancelled ? "stopped" : "the agent could not run: \(error)"))
                }
            }
            group.addTask { .sender(serverCancelled: await send(pipeline.buffer, task, logger)) }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    pipeline.tick()
                }
                return .other
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    await sendProgress(pipeline.progress, task)
                }
                return .other
            }
            // The sender ends last in a normal run (it drains the buffer after the
            // runtime finished) and first when the server cancelled the task.
            for await part in group {
                switch part {
                case .runtime(let value): outcome = value
                case .sender(let cancelled):
                    serverCancelled = cancelled
                    group.cancelAll()
                case .other: break
                }
            }
        }

        if serverCancelled { stop.set(.cancelledByServer) }
        switch stop.value {
        case .cancelledByServer?:
            logger.info("task cancelled on the server; agent stopped")
        case .daemonStopping?:
            await report(.failed(error: "the daemon stopped before the task finished"), task, logger, facts)
        case nil:
            await sendProgress(pipeline.progress, task, retrying: true)
            await report(outcome ?? .failed(error: "the agent ended without a result"), task, logger, facts)
        }
    }

    /// Posts batches until the buffer is finished and empty. Returns true when the
    /// server said the task is no longer active.
    private func send(_ buffer: MessageBuffer, _ task: TaskDispatchPayload, _ logger: Logger) async -> Bool {
        while let batch = await buffer.nextBatch(maxCount: batchMaxCount, maxBytes: batchMaxBytes) {
            do {
                _ = try await withRetry(onRetry: { logger.warning("retrying a batch: \($0)") }) { () throws(DaemonAPIError) in
                    try await api.post(task: task.taskID, TaskMessageBatch(messages: batch))
                }
                buffer.removeFirst(batch.count)
            } catch DaemonAPIError.taskNotActive {
                return true
            } catch is CancellationError {
                return false
            } catch {
                // A batch the server refuses for good: dropping it is the only way on.
                logger.error("the server refused a batch: \(error)", metadata: ["seqs": "\(batch.first?.seq ?? 0)...\(batch.last?.seq ?? 0)"])
                buffer.removeFirst(batch.count)
            }
        }
        return false
    }

    /// Sends the latest progress if the server does not have it yet; `retrying`
    /// for the last report of a task, which must not be lost.
    private func sendProgress(_ progress: LatestProgress, _ task: TaskDispatchPayload, retrying: Bool = false) async {
        guard let (value, version) = progress.unsent() else { return }
        let post = { () async throws(DaemonAPIError) in try await api.progress(task: task.taskID, value) }
        let sent = retrying ? (try? await withRetry(post)) != nil : (try? await post()) != nil
        if sent { progress.confirm(version) }
    }

    /// Completes or fails the task, retrying while the server is unreachable. Runs
    /// in its own task so a cancelled runner still reports. The agent's session id
    /// and usage, when it reported them, go with either end.
    private func report(
        _ outcome: Outcome, _ task: TaskDispatchPayload, _ logger: Logger, _ facts: SessionFacts = SessionFacts()
    ) async {
        let api = api
        let sanitizer = sanitizer
        let sessionID = facts.sessionID.map(sanitizer.clean)
        let usage = facts.usage.map { usage in
            var usage = usage
            usage.model = usage.model.map(sanitizer.clean)
            return usage.acceptable
        }
        let result = await Task {
            try await withRetry { () throws(DaemonAPIError) in
                switch outcome {
                case .completed(let output):
                    try await api.complete(
                        task: task.taskID,
                        TaskCompletedPayload(
                            output: output.map { sanitizer.truncated(sanitizer.clean($0)) }, sessionID: sessionID, usage: usage))
                case .failed(let error):
                    try await api.fail(
                        task: task.taskID,
                        TaskFailedPayload(error: sanitizer.truncated(sanitizer.clean(error)), sessionID: sessionID, usage: usage))
                }
            }
        }.result
        switch result {
        // The outcome's text is the agent's: its status only, never its output.
        case .success: logger.info("task ended", metadata: ["outcome": "\(outcome.status)"])
        case .failure(DaemonAPIError.taskNotActive): logger.info("task had already ended on the server")
        case .failure(let error): logger.error("cannot report the end of the task: \(error)")
        }
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var logger = self
        logger[metadataKey: key] = "\(value)"
        return logger
    }
}

extension Outcome {
    var status: String {
        switch self {
        case .completed: "completed"
        case .failed: "failed"
        }
    }
}
