import NIOCore
import NIOWebSocket
import Synchronization

/// The frames waiting for one WebSocket client, bounded in count and bytes.
///
/// Publishing never waits: a client that falls behind by more than the bounds is
/// marked to be closed with 1013 (try again later) and its backlog is dropped, so
/// one slow reader cannot slow the others or grow the relay's memory.
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

    private struct State {
        var queuedFrames = 0
        var queuedBytes = 0
        var close: CloseRequest?
    }

    public let frames: AsyncStream<ByteBuffer>
    private let continuation: AsyncStream<ByteBuffer>.Continuation
    private let limits: Limits
    private let state = Mutex(State())

    public static let tryAgainLater = WebSocketErrorCode(codeNumber: 1013)

    public init(limits: Limits) {
        (frames, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        self.limits = limits
    }

    /// Queues a frame; past the limits, asks for the client to be closed instead.
    public func push(_ frame: ByteBuffer) {
        let accepted = state.withLock { state -> Bool in
            guard state.close == nil else { return false }
            if state.queuedFrames + 1 > limits.frames || state.queuedBytes + frame.readableBytes > limits.bytes {
                state.close = CloseRequest(code: Self.tryAgainLater, reason: "too slow: reconnect and catch up")
                return false
            }
            state.queuedFrames += 1
            state.queuedBytes += frame.readableBytes
            return true
        }
        if accepted {
            continuation.yield(frame)
        } else {
            continuation.finish()
        }
    }

    /// The writer took a frame off the queue.
    public func taken(_ frame: ByteBuffer) {
        state.withLock {
            $0.queuedFrames -= 1
            $0.queuedBytes -= frame.readableBytes
        }
    }

    /// Asks the writer to close the connection with `code` (the first request wins).
    public func requestClose(_ code: WebSocketErrorCode, reason: String) {
        state.withLock { state in
            if state.close == nil { state.close = CloseRequest(code: code, reason: reason) }
        }
        continuation.finish()
    }

    public var closeRequest: CloseRequest? { state.withLock { $0.close } }

    /// Frames queued and not yet taken by the writer.
    public var queuedFrames: Int { state.withLock { $0.queuedFrames } }
}
