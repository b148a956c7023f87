@testable import AgentLiveRelay
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@Suite struct MetricsHTTPHandlerTests {
    /// The raw response to one raw request.
    func exchange(_ request: String) throws -> String {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: { Array("metric_a 1\n".utf8) }))
        try channel.writeInbound(ByteBuffer(string: request))
        var response = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { response += String(buffer: part) }
        _ = try? channel.finish()
        return response
    }

    @Test func getMetricsAnswersThePrometheusText() throws {
        let response = try exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("content-type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(response.hasSuffix("\r\n\r\nmetric_a 1\n"))
    }

    @Test(arguments: ["GET / HTTP/1.1", "GET /ws HTTP/1.1", "POST /metrics HTTP/1.1", "GET /metricsx HTTP/1.1"])
    func anythingElseIsNotFound(_ line: String) throws {
        let response = try exchange("\(line)\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(!response.contains("metric_a"))
    }
}
