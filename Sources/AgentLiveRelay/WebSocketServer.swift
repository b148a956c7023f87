import AgentLiveCredentials
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ServiceLifecycle

/// The relay's listener: HTTP/1.1 with an upgrade to WebSocket on `/ws`, and
/// plain JSON answers for everything else (`/health`, 404s). Built on swift-nio
/// directly so a WebSocket connection is a channel and a handler, with no task.
struct WebSocketServer: Service {
    var host: String
    var port: Int
    var session: WebSocketSessionHandler.Settings
    /// `AGENTLIVE_PUBLIC_ORIGIN`, normalized: the page's origin (see `UpgradeOrigin`).
    var publicOrigin: String?
    /// The `/health` answer: status and JSON body.
    var health: @Sendable () -> (HTTPResponseStatus, String)
    var logger: Logger

    func run() async throws {
        let listener = try await ServerListener.bind(host: host, port: port, backlog: 1024) { channel in try configure(channel) }
        logger.info("listening", metadata: ["address": "\(host):\(port)"])
        try await listener.serve()
    }

    private func configure(_ channel: any Channel) throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: WebSocketSessionHandler.maxFrameBytes,
            automaticErrorHandling: true,
            shouldUpgrade: { [publicOrigin] channel, head in
                // A refused upgrade goes on as a plain request: PlainHTTPHandler answers 403.
                let isWebSocket = head.path == "/ws"
                    && !UpgradeOrigin.refuses(HTTPFields(head.headers), publicOrigin: publicOrigin)
                return channel.eventLoop.makeSucceededFuture(isWebSocket ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { [session] channel, head in
                channel.eventLoop.makeCompletedFuture {
                    let credentials = PresentedToken.from(HTTPFields(head.headers))
                    try channel.pipeline.syncOperations.addHandlers(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 1024,
                            maxAccumulatedFrameSize: WebSocketSessionHandler.maxFrameBytes),
                        WebSocketSessionHandler(settings: session, credentials: credentials))
                }
            })
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (
                upgraders: [upgrader],
                // The upgrade removes the HTTP codec; the handler behind it must go too.
                completionHandler: { context in context.pipeline.removeHandler(name: PlainHTTPHandler.name, promise: nil) }
            ))
        try channel.pipeline.syncOperations.addHandler(
            PlainHTTPHandler(health: health, publicOrigin: publicOrigin), name: PlainHTTPHandler.name)
    }
}

/// Requests that are not upgrades: `/health`, a JSON 403 for an upgrade to `/ws`
/// refused for its origin, and a JSON 404 for anything else.
final class PlainHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let name = "agentlive-http"
    private let health: @Sendable () -> (HTTPResponseStatus, String)
    private let publicOrigin: String?
    private var request = PlainHTTPRequest()

    init(health: @escaping @Sendable () -> (HTTPResponseStatus, String), publicOrigin: String?) {
        self.health = health
        self.publicOrigin = publicOrigin
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let head = request.take(unwrapInboundIn(data)) else { return }
        let (status, body): (HTTPResponseStatus, String) =
            if head.path == "/health" && head.method == .GET { health() }
            else if head.path == "/ws" && UpgradeOrigin.refuses(HTTPFields(head.headers), publicOrigin: publicOrigin) {
                (.forbidden, #"{"error":{"code":"cross_origin","message":"This WebSocket was not opened by the AgentLive page, so the session cookie does not count for it."}}"#)
            } else {
                (.notFound, #"{"error":{"code":"not_found","message":"The relay serves /ws and /health."}}"#)
            }
        respond(to: head, status, contentType: "application/json", body: context.channel.allocator.buffer(string: body),
                context: context)
    }
}

extension HTTPFields {
    /// NIO's header list as swift-http-types fields (names it cannot hold are left out).
    init(_ headers: HTTPHeaders) {
        self.init()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { append(HTTPField(name: name, value: value)) }
        }
    }
}
