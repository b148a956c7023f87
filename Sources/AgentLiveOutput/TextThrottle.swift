/// Coalesces an agent's text so a task sends at most one text message per
/// interval: text waits up to `interval` for more text to join it. Anything else
/// (a tool call, a result, an error) first flushes the waiting text, so the order
/// of what the agent did is kept. Thinking is throttled the same way but never
/// joins text: switching between the two flushes what waits, so a thinking run
/// and a text run are separate messages. Time is passed in, so tests control the clock.
///
/// Each text message is redacted on its own, so a timed flush never cuts where a
/// secret could straddle it: it holds back the tail that could still be part of
/// one (SecretTail), and that tail waits for the next flush, or until the agent's
/// text has been quiet for `maxHold` (an agent does not pause inside a token).
public struct TextThrottle<Instant: InstantProtocol & Sendable>: Sendable where Instant.Duration == Duration {
    public enum Output: Equatable, Sendable {
        case text(String)
        case thinking(String)
        case event(AgentEvent)
    }

    public let interval: Duration
    /// How long a held tail waits for more text; 4 intervals by default.
    public var maxHold: Duration
    /// Waiting text beyond this many UTF-8 bytes goes at once (minus its tail), so a
    /// flood of text cannot outgrow the server's message limit before the interval.
    public var maxPendingBytes = 256 << 10
    private var pending = ""
    private var pendingSince: Instant?
    private var lastText: Instant?
    /// Whether `pending` is thinking rather than text.
    private var pendingIsThinking = false

    public init(interval: Duration = .milliseconds(500)) {
        self.interval = interval
        maxHold = interval * 4
    }

    public mutating func receive(_ event: AgentEvent, at now: Instant) -> [Output] {
        let text: String
        let isThinking: Bool
        switch event {
        case .text(let value): (text, isThinking) = (value, false)
        case .thinking(let value): (text, isThinking) = (value, true)
        default: return flush() + [.event(event)]
        }
        guard !text.isEmpty else { return tick(at: now) }
        let switched = isThinking != pendingIsThinking ? flush() : []
        pendingIsThinking = isThinking
        if pendingSince == nil { pendingSince = now }
        lastText = now
        pending += text
        if pending.utf8.count >= maxPendingBytes { return switched + release(at: now) }
        return switched + tick(at: now)
    }

    /// Sends the waiting text once it has waited `interval`, but for its tail.
    public mutating func tick(at now: Instant) -> [Output] {
        guard let since = pendingSince else { return [] }
        if let lastText, lastText.duration(to: now) >= maxHold { return flush() }
        guard since.duration(to: now) >= interval else { return [] }
        return release(at: now)
    }

    /// Sends whatever waits, tail included (the text ended: an event or the session's end).
    public mutating func flush() -> [Output] {
        defer {
            pending = ""
            pendingSince = nil
        }
        return pending.isEmpty ? [] : [output(pending)]
    }

    /// Sends the waiting text but for its tail, which waits on from `now`.
    private mutating func release(at now: Instant) -> [Output] {
        let split = SecretTail.start(in: pending)
        let ready = String(pending.unicodeScalars[..<split])
        pending = String(pending.unicodeScalars[split...])
        pendingSince = pending.isEmpty ? nil : now
        return ready.isEmpty ? [] : [output(ready)]
    }

    private func output(_ text: String) -> Output { pendingIsThinking ? .thinking(text) : .text(text) }
}
