import NIOCore
import NIOHTTP1

/// Collects an HTTP/1 request whose body is ignored: the head, once the request
/// is whole.
struct PlainHTTPRequest {
    private var head: HTTPRequestHead?

    /// The head at the request's end; nil for its other parts.
    mutating func take(_ part: HTTPServerRequestPart) -> HTTPRequestHead? {
        switch part {
        case .head(let head):
            self.head = head
            return nil
        case .body:
            return nil
        case .end:
            defer { head = nil }
            return head
        }
    }
}

extension HTTPRequestHead {
    /// The URI without its query.
    var path: Substring { uri.split(separator: "?", maxSplits: 1).first ?? "" }
}

extension ChannelInboundHandler where OutboundOut == HTTPServerResponsePart {
    /// Writes a whole answer to `head`, not to be cached, and closes the connection
    /// after it unless the client keeps it alive.
    func respond(to head: HTTPRequestHead, _ status: HTTPResponseStatus, contentType: String, body: ByteBuffer,
                 context: ChannelHandlerContext) {
        var headers = HTTPHeaders([
            ("content-type", contentType), ("cache-control", "no-store"), ("content-length", "\(body.readableBytes)"),
        ])
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let (keepAlive, channel) = (head.isKeepAlive, context.channel)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}
