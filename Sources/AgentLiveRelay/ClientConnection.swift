import AgentLiveCredentials
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// One WebSocket client: reads its frames, writes its outbox, and enforces the
/// deadlines (authenticate in time; a requested close that cannot be delivered
/// because the peer stopped reading ends the connection anyway).
struct ClientConnection {
    var hub: Hub
    var directory: any RelayDirectory
    var limits: ClientOutbox.Limits
    var authTimeout: Duration = .seconds(10)
    var closeGrace: Duration = .seconds(30)
    /// Client frames are small control messages.
    var maxMessageBytes = 64 << 10
    var logger: Logger

    /// Frames up to this size are read whole, so the 1009 close that refuses one
    /// reaches the client; larger ones make the library drop the connection.
    static let maxFrameBytes = 1 << 20

    struct CloseTimedOut: Error {}

    func run(
        credentials: Result<PresentedToken, MalformedCredentials>?,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws {
        let outbox = ClientOutbox(limits: limits)
        let session = ClientSession(outbox: outbox, hub: hub, directory: directory)
        hub.connect(outbox)
        defer { hub.disconnect(outbox) }
        if let credentials { await session.authenticate(credentials) }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
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
            group.addTask {
                for await frame in outbox.frames {
                    // A client too slow for its queue loses the backlog; any other
                    // close (auth, shutdown) first delivers what was queued (the error).
                    if outbox.closeRequest?.code == ClientOutbox.tryAgainLater { break }
                    outbox.taken(frame)
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                }
                if let close = outbox.closeRequest {
                    if close.code == ClientOutbox.tryAgainLater {
                        logger.notice("closing a client that cannot keep up")
                    }
                    try await outbound.close(close.code, reason: close.reason)
                }
            }
            group.addTask {
                try await Task.sleep(for: authTimeout)
                if !session.isAuthenticated {
                    outbox.requestClose(.policyViolation, reason: "authenticate within \(authTimeout)")
                }
                while outbox.closeRequest == nil { try await Task.sleep(for: .seconds(5)) }
                try await Task.sleep(for: closeGrace)
                throw CloseTimedOut()
            }
            // Whichever ends first (the peer left, or we closed) ends the others.
            try await group.next()
            group.cancelAll()
        }
    }
}
