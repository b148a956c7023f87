import NIOCore
import NIOPosix
import ServiceLifecycle

/// A relay listener: a TCP server on NIO's shared event loops, each connection's
/// pipeline set up by `initialize`, closed by graceful shutdown.
struct ServerListener {
    let channel: any Channel

    /// Binds `host:port`; `backlog` nil keeps NIO's default.
    static func bind(
        host: String, port: Int, backlog: Int32? = nil, initialize: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> ServerListener {
        var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let backlog { bootstrap = bootstrap.serverChannelOption(.backlog, value: backlog) }
        let channel = try await bootstrap
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.eventLoop.makeCompletedFuture { try initialize(channel) } }
            .bind(host: host, port: port).get()
        return ServerListener(channel: channel)
    }

    /// Serves until graceful shutdown closes the listener.
    func serve() async throws {
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: { [channel] in
            channel.close(promise: nil)
        }
    }
}
