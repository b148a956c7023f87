import Synchronization

public struct DeadlineExceeded: Error {}

/// The result of `operation`, or `DeadlineExceeded` once `duration` has passed,
/// whichever comes first. The caller goes on even if the operation ignores
/// cancellation (a query waiting for a pool connection across a database
/// restart): the operation is cancelled and left to finish on its own.
public func withDeadline<Value: Sendable>(
    _ duration: Duration, _ operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let race = Race<Value>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.begin(continuation)
            race.add(Task { race.finish(await Result { try await operation() }) })
            race.add(Task {
                if (try? await Task.sleep(for: duration)) != nil { race.finish(.failure(DeadlineExceeded())) }
            })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first result wins; the other contenders are cancelled. A result that comes
/// before the continuation (a caller cancelled from the start) waits for it.
private final class Race<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var result: Result<Value, any Error>?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state in
            state.continuation = state.result == nil ? continuation : nil
            return state.result
        }
        if let early { continuation.resume(with: early) }
    }

    func add(_ task: Task<Void, Never>) {
        let decided = state.withLock { state in
            if state.result == nil { state.tasks.append(task) }
            return state.result != nil
        }
        if decided { task.cancel() }
    }

    func finish(_ result: Result<Value, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, [Task<Void, Never>]) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        tasks.forEach { $0.cancel() }
        continuation?.resume(with: result)
    }
}

extension Result where Failure == any Error {
    fileprivate init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
