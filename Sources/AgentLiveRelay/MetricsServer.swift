import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
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
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [render] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("metrics listening", metadata: ["address": "\(host):\(port)", "path": "/metrics"])
        try await withGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
    }
}

/// `GET /metrics`: the exposition; anything else: 404.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    private let render: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
            let found = path == "/metrics" && head.method == .GET
            let body = found ? render() : Array("The relay's metrics are at GET /metrics.\n".utf8)
            var headers = HTTPHeaders([
                ("content-type", found ? Self.contentType : "text/plain; charset=utf-8"),
                ("cache-control", "no-store"), ("content-length", "\(body.count)"),
            ])
            if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
            let status: HTTPResponseStatus = found ? .ok : .notFound
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let (keepAlive, channel) = (head.isKeepAlive, context.channel)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
