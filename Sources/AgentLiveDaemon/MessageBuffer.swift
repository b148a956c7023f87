import AgentLiveWire
import Synchronization

/// The messages of one task waiting to be sent, in seq order, bounded in bytes.
///
/// Appending never waits (so a timer can flush text at any moment); the producer
/// then waits for space, which is how a slow or unreachable server stops the
/// daemon from reading the agent's output instead of dropping anything. The
/// sender reads batches from the front and removes them only once the server
/// has acknowledged them, so a failed post is retried with the same messages.
final class MessageBuffer: Sendable {
    private struct State {
        var messages: [(message: TaskMessagePayload, size: Int)] = []
        var bytes = 0
        var finished = false
    }

    let limitBytes: Int
    private let state = Mutex(State())
    /// Rung when messages arrive or the buffer finishes.
    private let arrived: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    /// Rung when the sender removed messages.
    private let drained: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)

    init(limitBytes: Int) {
        self.limitBytes = limitBytes
        arrived = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        drained = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func append(_ message: TaskMessagePayload) {
        let size = message.approximateSize
        state.withLock {
            $0.messages.append((message, size))
            $0.bytes += size
        }
        arrived.continuation.yield()
    }

    /// Returns once the buffer is below its limit (or the task was cancelled).
    func waitForSpace() async {
        var iterator = drained.stream.makeAsyncIterator()
        while state.withLock({ $0.bytes > limitBytes }), !Task.isCancelled {
            _ = await iterator.next()
        }
    }

    /// The oldest messages, up to the limits, without removing them; nil once the
    /// buffer is finished and empty.
    func nextBatch(maxCount: Int, maxBytes: Int) async -> [TaskMessagePayload]? {
        var iterator = arrived.stream.makeAsyncIterator()
        while !Task.isCancelled {
            let batch: [TaskMessagePayload]? = state.withLock { state in
                if state.messages.isEmpty { return state.finished ? nil : [] }
                var bytes = 0
                var batch: [TaskMessagePayload] = []
                for (message, size) in state.messages.prefix(maxCount) {
                    if !batch.isEmpty && bytes + size > maxBytes { break }
                    batch.append(message)
                    bytes += size
                }
                return batch
            }
            guard let batch else { return nil }
            if !batch.isEmpty { return batch }
            _ = await iterator.next()
        }
        return nil
    }

    /// The first `count` messages reached the server.
    func removeFirst(_ count: Int) {
        state.withLock { state in
            state.bytes -= state.messages.prefix(count).reduce(0) { $0 + $1.size }
            state.messages.removeFirst(min(count, state.messages.count))
        }
        drained.continuation.yield()
    }

    /// No more messages will come: the sender stops once the buffer is empty.
    func finish() {
        state.withLock { $0.finished = true }
        arrived.continuation.yield()
    }

    var isEmpty: Bool { state.withLock { $0.messages.isEmpty } }
}

extension TaskMessagePayload {
    /// Roughly its size as JSON, for batching and memory bounds.
    var approximateSize: Int {
        64 + (content?.utf8.count ?? 0) + (output?.utf8.count ?? 0) + (tool?.utf8.count ?? 0)
            + (input.map { $0.compactJSON.utf8.count } ?? 0)
    }
}
