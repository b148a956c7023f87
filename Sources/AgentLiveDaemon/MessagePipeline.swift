import AgentLiveWire
import Synchronization

/// Everything between an agent's events and the send buffer for one task:
/// text throttling, numbering (seq 1, 2, 3… in the order things happened),
/// sanitizing and redaction. Progress goes to its own latest-value slot.
final class MessagePipeline: Sendable {
    private struct State {
        var throttle: TextThrottle<ContinuousClock.Instant>
        var nextSeq: Int64 = 1
        /// Tool names by call id, so a result names its tool too.
        var tools: [String: String] = [:]
    }

    let buffer: MessageBuffer
    let progress = LatestProgress()
    private let sanitizer: MessageSanitizer
    private let state: Mutex<State>

    init(buffer: MessageBuffer, sanitizer: MessageSanitizer, throttleInterval: Duration) {
        self.buffer = buffer
        self.sanitizer = sanitizer
        state = Mutex(State(throttle: TextThrottle(interval: throttleInterval)))
    }

    /// Takes one event from the runtime; waits while the buffer is full.
    func receive(_ event: AgentEvent, at now: ContinuousClock.Instant = .now) async {
        if case .progress(let summary, let step, let total) = event {
            progress.set(TaskProgressPayload(summary: sanitizer.clean(summary), step: step, total: total))
            return
        }
        state.withLock { state in
            for output in state.throttle.receive(event, at: now) { append(output, &state) }
        }
        await buffer.waitForSpace()
    }

    /// Sends text that has waited long enough (called by a timer).
    func tick(at now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            for output in state.throttle.tick(at: now) { append(output, &state) }
        }
    }

    /// The session ended: send what waits and close the buffer.
    func finish() {
        state.withLock { state in
            for output in state.throttle.flush() { append(output, &state) }
        }
        buffer.finish()
    }

    private func append(_ output: TextThrottle<ContinuousClock.Instant>.Output, _ state: inout State) {
        var message = TaskMessagePayload(seq: state.nextSeq, type: .text)
        switch output {
        case .text(let text):
            message.content = text
        case .thinking(let text):
            message.type = .thinking
            message.content = text
        case .event(.toolUse(let tool, let input, let callID)):
            message.type = .toolUse
            message.tool = tool
            message.input = input
            message.callID = callID
            if let callID { state.tools[callID] = tool }
        case .event(.toolResult(let output, let callID, let isError)):
            message.type = .toolResult
            message.output = output
            message.callID = callID
            message.isError = isError
            message.tool = callID.flatMap { state.tools[$0] }
        case .event(.error(let text)):
            message.type = .error
            message.content = text
        case .event(.text), .event(.progress), .event(.finished):
            return  // text comes out of the throttle as .text; the others never reach it
        case .event(.thinking), .event(.session), .event(.usage):
            return  // thinking comes out as .thinking; session and usage go to the task's end
        }
        buffer.append(sanitizer.clean(message))
        state.nextSeq += 1
    }
}

/// The latest progress report. A value counts as sent only once the server took
/// it, so a report lost to a cancelled or failed request is sent again.
final class LatestProgress: Sendable {
    private struct State {
        var value: TaskProgressPayload?
        var version = 0
        var sentVersion = 0
    }

    private let state = Mutex(State())

    func set(_ value: TaskProgressPayload) {
        state.withLock {
            $0.value = value
            $0.version += 1
        }
    }

    /// The value the server has not taken yet, with its version for `confirm`.
    func unsent() -> (value: TaskProgressPayload, version: Int)? {
        state.withLock { state in
            guard state.version > state.sentVersion, let value = state.value else { return nil }
            return (value, state.version)
        }
    }

    func confirm(_ version: Int) {
        state.withLock { $0.sentVersion = max($0.sentVersion, version) }
    }
}
