import AgentLiveCredentials
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// One WebSocket client: reads its frames in the connection's own task. Writes
/// need no task of their own (see `ClientOutbox`), and deadlines are enforced by
/// the hub's sweeper, so a connection costs no more suspended tasks than the
/// library's.
struct ClientConnection {
    var hub: Hub
    var directory: any RelayDirectory
    var limits: ClientOutbox.Limits
    var deadlines = ClientOutbox.Deadlines()
    /// Client frames are small control messages.
    var maxMessageBytes = 64 << 10
    var logger: Logger

    /// Frames up to this size are read whole, so the 1009 close that refuses one
    /// reaches the client; larger ones make the library drop the connection.
    static let maxFrameBytes = 1 << 20

    func run(
        credentials: Result<PresentedToken, MalformedCredentials>?,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel
    ) async throws {
        let writer = ChannelClientWriter(channel: channel, outbound: outbound, logger: logger)
        let outbox = ClientOutbox(limits: limits, deadlines: deadlines, writer: writer)
        let session = ClientSession(outbox: outbox, hub: hub, directory: directory)
        hub.connect(outbox)
        defer { hub.disconnect(outbox) }
        if let credentials { await session.authenticate(credentials) }

        // Ends when the peer leaves, or the connection closes (handshake done or aborted).
        for try await message in inbound.messages(maxSize: maxMessageBytes) {
            switch message {
            case .text(let text) where text.utf8.count > maxMessageBytes:
                // The library checks only fragmented messages against maxSize.
                outbox.requestClose(.messageTooLarge, reason: "frames are limited to \(maxMessageBytes) bytes")
            case .text(let text): await session.receive(text)
            case .binary: outbox.push(Frames.error("invalid_message", "Send text frames."))
            }
        }
    }
}

/// Writes a client's frames straight to its channel: a batch costs one flush (one
/// syscall), where `WebSocketOutboundWriter` flushes every frame. No WebSocket
/// extensions are negotiated, so frames need no processing on the way. Closing
/// goes through the library, which runs the close handshake.
struct ChannelClientWriter: ClientWriter {
    let channel: any Channel
    let outbound: WebSocketOutboundWriter
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
        // The handshake is async and the outbox has no task of its own to await it in.
        Task { [outbound] in try? await outbound.close(code, reason: reason) }
    }

    func abort() {
        channel.close(promise: nil)
    }
}
