import Synchronization

/// A queue with one consumer that takes everything queued at once, so a burst is
/// handled together (the event pump answers a burst of notifications with one
/// query instead of one each).
final class Mailbox<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    func send(_ item: Element) {
        let (waiter, items) = state.withLock { state -> (CheckedContinuation<[Element]?, Never>?, [Element]) in
            guard !state.finished else { return (nil, []) }
            state.items.append(item)
            guard let waiter = state.waiter else { return (nil, []) }
            state.waiter = nil
            defer { state.items = [] }
            return (waiter, state.items)
        }
        waiter?.resume(returning: items)
    }

    /// No more items: the consumer gets what is left, then nil.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Everything queued, waiting for at least one item; nil once finished and
    /// empty, or when the task is cancelled.
    func next() async -> [Element]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready: [Element]?? = state.withLock { state in
                    if !state.items.isEmpty {
                        defer { state.items = [] }
                        return .some(state.items)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            finish()
        }
    }
}
