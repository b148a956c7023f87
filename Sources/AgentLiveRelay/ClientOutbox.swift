import NIOCore
import NIOWebSocket
import Synchronization

/// Where a client's frames go: its WebSocket channel (`ChannelClientWriter`), or a
/// test's stand-in.
public protocol ClientWriter: Sendable {
    /// Writes the frames in order with one flush, and calls `done` once they have
    /// left (or the connection failed). The outbox has at most one write in flight.
    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void)
    /// Starts the close handshake, after everything written before.
    func close(_ code: WebSocketErrorCode, reason: String)
    /// Drops the connection: a peer that does not read cannot take a close frame.
    func abort()
}

/// The frames waiting for one WebSocket client, bounded in count and bytes, and
/// the client's deadlines.
///
/// Publishing never waits: frames queue while one batch is being written, and the
/// next write takes the whole queue with one flush. A client that falls behind by
/// more than the bounds is closed with 1013 (try again later) and its backlog is
/// dropped, so one slow reader cannot slow the others or grow the relay's memory.
/// There is no task per client: writes are driven by pushes and completions, and
/// deadlines by `checkDeadline`, which the hub's sweeper calls for every client.
public final class ClientOutbox: Sendable {
    public struct Limits: Sendable, Equatable {
        public var frames: Int
        public var bytes: Int

        public init(frames: Int = 4096, bytes: Int = 16 << 20) {
            self.frames = frames
            self.bytes = bytes
        }
    }

    public struct CloseRequest: Sendable, Equatable {
        public var code: WebSocketErrorCode
        public var reason: String
    }

    public struct Deadlines: Sendable {
        /// A connection must authenticate this long after it opened.
        public var authenticate: Duration
        /// After a close request, how long the peer has to take it before the
        /// connection is dropped.
        public var closeGrace: Duration

        public init(authenticate: Duration = .seconds(10), closeGrace: Duration = .seconds(30)) {
            self.authenticate = authenticate
            self.closeGrace = closeGrace
        }
    }

    private enum Deadline {
        case authenticate(ContinuousClock.Instant)
        /// The credentials expire then (a session's `expires_at`).
        case credentialsExpire(ContinuousClock.Instant)
        case closeHandshake(ContinuousClock.Instant)
    }

    /// What to do with the writer once the lock is released.
    private enum Action {
        case none
        case write([ByteBuffer])
        case close(CloseRequest)
        case abort
    }

    private struct State {
        var queued: [ByteBuffer] = []
        var queuedBytes = 0
        var writing = false
        var close: CloseRequest?
        var closeSent = false
        var deadline: Deadline?

        /// The next step when no write is in flight: the queue, else a pending close.
        mutating func next() -> Action {
            if !queued.isEmpty {
                defer { (queued, queuedBytes) = ([], 0) }
                writing = true
                return .write(queued)
            }
            writing = false
            if let close, !closeSent {
                closeSent = true
                return .close(close)
            }
            return .none
        }
    }

    private let limits: Limits
    private let deadlines: Deadlines
    private let writer: any ClientWriter
    private let metrics: OutboxMetrics?
    private let state: Mutex<State>

    public static let tryAgainLater = WebSocketErrorCode(codeNumber: 1013)

    public init(limits: Limits, deadlines: Deadlines = .init(), writer: any ClientWriter, metrics: OutboxMetrics? = nil) {
        self.limits = limits
        self.deadlines = deadlines
        self.writer = writer
        self.metrics = metrics
        state = Mutex(State(deadline: .authenticate(.now + deadlines.authenticate)))
    }

    /// Queues a frame; past the limits, asks for the client to be closed instead.
    /// True if the frame was queued.
    @discardableResult
    public func push(_ frame: ByteBuffer) -> Bool {
        push(contentsOf: CollectionOfOne(frame))
    }

    /// Queues frames that belong together (one notification's messages): they go
    /// out in one write. True if they were queued: false once the client is being
    /// closed, or when they close it for being too slow.
    @discardableResult
    public func push(contentsOf frames: some Collection<ByteBuffer>) -> Bool {
        let (action, queued) = state.withLock { state -> (Action, Bool) in
            if let close = state.close {
                if close.code == Self.tryAgainLater { metrics?.framesDropped.increment(by: Int64(frames.count)) }
                return (.none, false)
            }
            let bytes = frames.reduce(0) { $0 + $1.readableBytes }
            if state.queued.count + frames.count > limits.frames || state.queuedBytes + bytes > limits.bytes {
                metrics?.slowClientsClosed.increment()
                metrics?.framesDropped.increment(by: Int64(frames.count))
                return (close(&state, CloseRequest(code: Self.tryAgainLater, reason: "too slow: reconnect and catch up")), false)
            }
            state.queued.append(contentsOf: frames)
            state.queuedBytes += bytes
            return (state.writing ? .none : state.next(), true)
        }
        perform(action)
        return queued
    }

    /// Asks for the connection to be closed with `code` once what is queued has
    /// been written (the first request wins).
    public func requestClose(_ code: WebSocketErrorCode, reason: String) {
        perform(state.withLock { close(&$0, CloseRequest(code: code, reason: reason)) })
    }

    private func close(_ state: inout State, _ request: CloseRequest) -> Action {
        guard state.close == nil else { return .none }
        state.close = request
        state.deadline = .closeHandshake(.now + deadlines.closeGrace)
        // A client too slow for its queue loses the backlog; any other close (auth,
        // shutdown) first delivers what was queued (the error that explains it).
        if request.code == Self.tryAgainLater {
            if !state.queued.isEmpty { metrics?.framesDropped.increment(by: Int64(state.queued.count)) }
            (state.queued, state.queuedBytes) = ([], 0)
        }
        return state.writing ? .none : state.next()
    }

    /// The client authenticated: the authentication deadline no longer applies; the
    /// connection is closed with 1008 when its credentials expire, if they do.
    public func authenticated(expiresAt: ContinuousClock.Instant? = nil) {
        state.withLock { state in
            if case .authenticate = state.deadline { state.deadline = expiresAt.map { .credentialsExpire($0) } }
        }
    }

    /// Enforces the deadline that has passed, if any.
    public func checkDeadline(now: ContinuousClock.Instant = .now) {
        let action = state.withLock { state -> Action in
            switch state.deadline {
            case .authenticate(let at) where at <= now:
                let seconds = deadlines.authenticate.components.seconds
                return close(&state, CloseRequest(code: .policyViolation, reason: "authenticate within \(seconds) s"))
            case .credentialsExpire(let at) where at <= now:
                // Explained first, as for refused credentials; the close goes after it.
                if state.close == nil {
                    let frame = Frames.error("unauthorized", "The session expired; sign in again.")
                    state.queued.append(frame)
                    state.queuedBytes += frame.readableBytes
                }
                return close(&state, CloseRequest(code: .policyViolation, reason: "credentials expired"))
            case .closeHandshake(let at) where at <= now:
                state.deadline = nil
                return .abort
            default:
                return .none
            }
        }
        perform(action)
    }

    private func perform(_ action: Action) {
        switch action {
        case .none: break
        case .write(let frames):
            writer.write(frames) { [self] in perform(state.withLock { $0.next() }) }
        case .close(let request): writer.close(request.code, reason: request.reason)
        case .abort: writer.abort()
        }
    }

    public var closeRequest: CloseRequest? { state.withLock { $0.close } }

    /// Frames queued and not yet handed to the writer.
    public var queuedFrames: Int { state.withLock { $0.queued.count } }
}
