import AgentLiveCredentials
import Logging
import NIOCore
import NIOWebSocket

/// One WebSocket client as a channel handler: no task per connection, only the
/// channel, its pipeline and this object. Frames in go to the client's
/// `ClientSession` in order; frames out come from its `ClientOutbox`, which
/// writes straight to the channel. The WebSocket protocol's own duties — pong,
/// the close handshake, pings to find dead peers — are answered here on the
/// event loop.
final class WebSocketSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    struct Settings: Sendable {
        var hub: Hub
        var directory: any RelayDirectory
        var limits: ClientOutbox.Limits
        var deadlines = ClientOutbox.Deadlines()
        /// Client frames are small control messages.
        var maxMessageBytes = 64 << 10
        var pingInterval: TimeAmount = .seconds(30)
        /// How long the peer has to answer our close frame.
        var closeTimeout: TimeAmount = .seconds(5)
        var logger: Logger
    }

    /// Frames up to this size are read whole, so the 1009 close that refuses one
    /// reaches the client; larger ones are a protocol error.
    static let maxFrameBytes = 1 << 20

    private let settings: Settings
    private let credentials: Result<PresentedToken, MalformedCredentials>?
    private var context: ChannelHandlerContext?
    private var outbox: ClientOutbox?
    private var session: ClientSession?
    /// The session's work, in arrival order: each frame waits for the one before.
    private var pending: Task<Void, Never>?
    private var ping: RepeatedTask?
    private var awaitingPong = false
    private var closeSent = false

    init(settings: Settings, credentials: Result<PresentedToken, MalformedCredentials>?) {
        self.settings = settings
        self.credentials = credentials
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let writer = ChannelClientWriter(
            channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop), logger: settings.logger)
        let outbox = ClientOutbox(limits: settings.limits, deadlines: settings.deadlines, writer: writer,
                                  metrics: settings.hub.metrics.outbox)
        let session = ClientSession(outbox: outbox, hub: settings.hub, directory: settings.directory)
        (self.outbox, self.session) = (outbox, session)
        settings.hub.connect(outbox)
        if let credentials { enqueue { await session.authenticate(credentials) } }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        ping = context.eventLoop.scheduleRepeatedTask(initialDelay: settings.pingInterval, delay: settings.pingInterval) { _ in
            handler.value.sendPing()
        }
    }

    /// The outbox's writer holds this handler (to send close frames on the event
    /// loop), so the handler lets go of the outbox and the session here: otherwise
    /// the two keep each other, and the channel, alive after the connection ends
    /// (measured: 8 KiB a connection, never freed).
    func handlerRemoved(context: ChannelHandlerContext) {
        ping?.cancel()
        if let outbox { settings.hub.disconnect(outbox) }
        (self.context, self.ping, self.outbox, self.session, self.pending) = (nil, nil, nil, nil, nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text where !closeSent:
            guard frame.length <= settings.maxMessageBytes else { return refuseTooLarge() }
            let text = String(buffer: frame.unmaskedData)
            if let session { enqueue { await session.receive(text) } }
        case .binary where !closeSent:
            outbox?.push(Frames.error("invalid_message", "Send text frames."))
        case .ping where !closeSent:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)),
                                  promise: nil)
        case .pong:
            awaitingPong = false
        case .connectionClose:
            if closeSent {
                context.close(promise: nil)  // the answer to ours: the handshake is done
            } else {
                // The peer closes: answer with its code, then end the connection.
                closeSent = true
                var data = frame.unmaskedData
                let code = data.readSlice(length: 2) ?? context.channel.allocator.buffer(capacity: 0)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
                    .whenComplete { _ in channel.close(promise: nil) }
            }
        default:
            break  // fragments arrive joined (NIOWebSocketFrameAggregator); data after a close is ignored
        }
    }

    /// A fragmented message that cannot be joined (over the limit, too many or
    /// misordered fragments) is refused with a close; any other error ends the
    /// connection.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        settings.logger.debug("WebSocket error", metadata: ["error": "\(error)"])
        switch error {
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge, NIOWebSocketFrameAggregator.Error.tooManyFragments:
            refuseTooLarge()
        case is NIOWebSocketFrameAggregator.Error:
            outbox?.requestClose(.protocolError, reason: "invalid fragments")
        default:
            context.close(promise: nil)
        }
    }

    private func refuseTooLarge() {
        outbox?.requestClose(.messageTooLarge, reason: "frames are limited to \(settings.maxMessageBytes) bytes")
    }

    private func enqueue(_ work: @escaping @Sendable () async -> Void) {
        let previous = pending
        pending = Task {
            await previous?.value
            await work()
        }
    }

    /// A ping every interval; a peer that did not answer the last one is gone.
    private func sendPing() {
        guard let context, !closeSent else { return }
        guard !awaitingPong else { return context.close(promise: nil) }
        awaitingPong = true
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0))),
                              promise: nil)
    }

    /// Our close frame, after everything the outbox wrote before it; the connection
    /// ends when the peer answers, or after `closeTimeout`.
    fileprivate func sendClose(_ code: WebSocketErrorCode, reason: String) {
        guard let context, !closeSent else { return }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: settings.closeTimeout) { channel.close(promise: nil) }
    }
}

/// Writes a client's frames straight to its channel: a batch costs one flush (one
/// syscall). No WebSocket extensions are negotiated, so frames need no processing
/// on the way.
struct ChannelClientWriter: ClientWriter {
    let channel: any Channel
    let handler: NIOLoopBound<WebSocketSessionHandler>
    let logger: Logger

    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void) {
        guard let last = frames.last else { return done() }
        channel.eventLoop.execute { [channel] in
            for frame in frames.dropLast() { channel.write(Self.text(frame), promise: nil) }
            channel.writeAndFlush(Self.text(last)).whenComplete { _ in done() }
        }
    }

    private static func text(_ data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: data)
    }

    func close(_ code: WebSocketErrorCode, reason: String) {
        if code == ClientOutbox.tryAgainLater { logger.notice("closing a client that cannot keep up") }
        channel.eventLoop.execute { [handler] in handler.value.sendClose(code, reason: reason) }
    }

    func abort() {
        channel.close(promise: nil)
    }
}
