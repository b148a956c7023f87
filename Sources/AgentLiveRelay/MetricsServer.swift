import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The relay's second listener: Prometheus text at `GET /metrics`, on a loopback
/// port of its own, apart from the port nginx proxies `/ws` to. A scrape is one
/// short request; the exposition is built on the event loop (a few kilobytes).
struct MetricsServer: Service {
    var host: String
    var port: Int
    var render: @Sendable () -> [UInt8]
    var logger: Logger

    func run() async throws {
        let listener = try await ServerListener.bind(host: host, port: port) { [render] channel in
            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
            try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
        }
        logger.info("metrics listening", metadata: ["address": "\(host):\(port)", "path": "/metrics"])
        try await listener.serve()
    }
}

/// `GET /metrics`: the exposition; anything else: 404.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    private let render: @Sendable () -> [UInt8]
    private var request = PlainHTTPRequest()

    init(render: @escaping @Sendable () -> [UInt8]) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let head = request.take(unwrapInboundIn(data)) else { return }
        let found = head.path == "/metrics" && head.method == .GET
        let body = found ? render() : Array("The relay's metrics are at GET /metrics.\n".utf8)
        respond(to: head, found ? .ok : .notFound, contentType: found ? Self.contentType : "text/plain; charset=utf-8",
                body: context.channel.allocator.buffer(bytes: body), context: context)
    }
}
