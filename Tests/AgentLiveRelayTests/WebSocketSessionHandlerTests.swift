@testable import AgentLiveRelay
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

/// The handler on an EmbeddedChannel: what it answers at the WebSocket level.
@Suite struct WebSocketSessionHandlerTests {
    func makeChannel() throws -> (EmbeddedChannel, Hub) {
        let hub = Hub()
        let settings = WebSocketSessionHandler.Settings(
            hub: hub, directory: FakeDirectory(validToken: "none"), limits: .init(), logger: Logger(label: "test"))
        let channel = EmbeddedChannel(handler: WebSocketSessionHandler(settings: settings, credentials: nil))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, hub)
    }

    func frame(_ opcode: WebSocketOpcode, _ text: String = "") -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, data: ByteBuffer(string: text))
    }

    @Test func aClosedConnectionLeavesNeitherItsHandlerNorItsOutboxBehind() async throws {
        let hub = Hub()
        let settings = WebSocketSessionHandler.Settings(
            hub: hub, directory: FakeDirectory(validToken: "none"), limits: .init(), logger: Logger(label: "test"))
        weak var handler: WebSocketSessionHandler?
        let channel = try {
            let strong = WebSocketSessionHandler(settings: settings, credentials: nil)
            handler = strong
            return EmbeddedChannel(handler: strong)
        }()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(frame(.binary, "x"))  // the outbox writes through the handler
        channel.embeddedEventLoop.run()
        #expect(handler != nil)
        try channel.close().wait()
        channel.embeddedEventLoop.run()
        try? await Task.sleep(for: .milliseconds(50))  // the session's pending work ends
        #expect(hub.connectionCount == 0)
        #expect(handler == nil)
    }

    @Test func aPingIsAnsweredWithItsData() throws {
        let (channel, hub) = try makeChannel()
        #expect(hub.connectionCount == 1)
        try channel.writeInbound(frame(.ping, "hello"))
        let pong = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(pong.opcode == .pong)
        #expect(String(buffer: pong.unmaskedData) == "hello")
    }

    @Test func aBinaryFrameIsAnsweredWithAnError() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(frame(.binary, "x"))
        channel.embeddedEventLoop.run()
        let reply = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(reply.opcode == .text)
        #expect(String(buffer: reply.unmaskedData).contains("invalid_message"))
    }

    @Test func thePeersCloseIsAnsweredWithItsCodeAndTheConnectionEnds() throws {
        let (channel, hub) = try makeChannel()
        var data = ByteBuffer()
        data.write(webSocketErrorCode: .goingAway)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        let answer = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(answer.opcode == .connectionClose)
        var payload = answer.unmaskedData
        #expect(payload.readWebSocketErrorCode() == .goingAway)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(hub.connectionCount == 0)
    }

    @Test func ourCloseWaitsForThePeersAnswer() throws {
        let (channel, hub) = try makeChannel()
        hub.closeAll(.goingAway, reason: "bye")
        channel.embeddedEventLoop.run()
        let close = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        #expect(channel.isActive)
        try channel.writeInbound(frame(.connectionClose))
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }
}
