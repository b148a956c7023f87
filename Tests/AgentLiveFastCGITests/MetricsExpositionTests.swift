@testable import AgentLiveFastCGI
import Testing

@Suite struct MetricsExpositionTests {
    func render(_ fill: (inout [UInt64]) -> Void, busy: Int = 1, idle: Int = 2, restarts: UInt64 = 3) -> [String] {
        var counts = [UInt64](repeating: 0, count: testLayout.slotWords)
        fill(&counts)
        let text = MetricsExposition(layout: testLayout, prefix: "agentlive_api")
            .render(PoolSnapshot(counts: counts, busy: busy, idle: idle, restarts: restarts))
        #expect(text.hasSuffix("\n"))
        return text.split(separator: "\n").map(String.init)
    }

    @Test("Requests are written by route pattern, method and status, only where something was counted")
    func requestsByRouteAndStatus() {
        let lines = render { counts in
            counts[testLayout.requestWord(route: 1, statusIndex: testLayout.statusIndex(200))] = 4
            counts[testLayout.requestWord(route: testLayout.otherRoute, statusIndex: testLayout.statusIndex(404))] = 2
            counts[testLayout.requestWord(route: 0, statusIndex: testLayout.statusIndex(299))] = 1
        }
        let requests = lines.filter { $0.hasPrefix("agentlive_api_requests_total") }
        #expect(requests == [
            #"agentlive_api_requests_total{route="/api/health",method="GET",status="other"} 1"#,
            #"agentlive_api_requests_total{route="/api/daemon/tasks/{id}/messages",method="POST",status="200"} 4"#,
            #"agentlive_api_requests_total{route="other",method="other",status="404"} 2"#,
        ])
        #expect(lines.contains("# TYPE agentlive_api_requests_total counter"))
    }

    @Test("The histogram's buckets are cumulative, end in +Inf, and its count and sum follow")
    func histogramIsCumulative() {
        let lines = render { counts in
            counts[testLayout.bucketWord(route: 0, bucket: 0)] = 3
            counts[testLayout.bucketWord(route: 0, bucket: 2)] = 1
            counts[testLayout.bucketWord(route: 0, bucket: ScoreboardLayout.bucketBounds.count)] = 1
            counts[testLayout.sumWord(route: 0)] = 12_500_000_000
        }
        let histogram = lines.filter { $0.hasPrefix("agentlive_api_request_duration_seconds") }
        #expect(histogram.count == ScoreboardLayout.bucketBounds.count + 3)
        #expect(histogram.first == #"agentlive_api_request_duration_seconds_bucket{route="/api/health",method="GET",le="0.0005"} 3"#)
        #expect(histogram.contains(#"agentlive_api_request_duration_seconds_bucket{route="/api/health",method="GET",le="0.0025"} 4"#))
        #expect(histogram.contains(#"agentlive_api_request_duration_seconds_bucket{route="/api/health",method="GET",le="+Inf"} 5"#))
        #expect(histogram.contains(#"agentlive_api_request_duration_seconds_sum{route="/api/health",method="GET"} 12.5"#))
        #expect(histogram.contains(#"agentlive_api_request_duration_seconds_count{route="/api/health",method="GET"} 5"#))
    }

    @Test("Workers by state, restarts, messages and database errors are always written")
    func poolCountersAreAlwaysWritten() {
        let lines = render { counts in
            counts[ScoreboardLayout.Counter.messagesIngested.rawValue] = 500
            counts[ScoreboardLayout.Counter.databaseUnavailable.rawValue] = 7
        }
        for line in [
            #"agentlive_api_workers{state="busy"} 1"#, #"agentlive_api_workers{state="idle"} 2"#,
            #"agentlive_api_workers{state="starting"} 0"#, "agentlive_api_worker_restarts_total 3",
            "agentlive_api_messages_ingested_total 500", #"agentlive_api_database_errors_total{kind="unavailable"} 7"#,
            #"agentlive_api_database_errors_total{kind="other"} 0"#, "# TYPE agentlive_api_workers gauge",
        ] {
            #expect(lines.contains(line), "missing \(line)")
        }
    }

    @Test("Label values escape backslashes, quotes and line feeds")
    func labelValuesAreEscaped() {
        #expect(MetricsExposition.escape("a\\b\"c\nd") == #"a\\b\"c\nd"#)
    }
}

@Suite struct MetricsEndpointTests {
    func answer(_ request: String) -> String {
        String(decoding: MetricsServer.response(to: Array(request.utf8), body: { "x 1\n" }), as: UTF8.self)
    }

    @Test("GET /metrics answers the exposition; other paths, methods and garbage do not")
    func answersOnlyMetrics() {
        let ok = answer("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(ok.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(ok.hasSuffix("\r\n\r\nx 1\n"))
        #expect(answer("GET /metrics?x=1 HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 200 OK"))
        #expect(answer("HEAD /metrics HTTP/1.1\r\n\r\n").hasSuffix("\r\n\r\n"))
        #expect(answer("GET / HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        #expect(answer("POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405"))
        #expect(answer("").hasPrefix("HTTP/1.1 400"))
    }
}

@Suite struct MetricsAddressTests {
    @Test("Loopback addresses are accepted", arguments: ["127.0.0.1:9464", "127.3.2.1:1", "localhost:9464", "[::1]:9464"])
    func loopbackIsAccepted(_ text: String) throws {
        #expect(try MetricsAddress(text).isLoopback)
    }

    @Test("Other addresses are refused unless allowed", arguments: ["0.0.0.0:9464", "10.1.2.3:9464", "[::]:9464"])
    func otherAddressesAreRefused(_ text: String) throws {
        #expect(throws: MetricsAddress.Failure.notLoopback(text)) { try MetricsAddress(text) }
        #expect(try !MetricsAddress(text, allowNonLoopback: true).isLoopback)
    }

    @Test("Malformed addresses are refused", arguments: ["9464", "127.0.0.1", "127.0.0.1:0", "host.example:80", "::1:9464", "127.0.0.1:70000"])
    func malformedIsRefused(_ text: String) {
        #expect(throws: MetricsAddress.Failure.malformed(text)) { try MetricsAddress(text, allowNonLoopback: true) }
    }
}
