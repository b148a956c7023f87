@testable import AgentLiveRelay
import NIOCore
import Testing

/// The value of an unlabelled sample in a scrape, nil when absent.
func sample(_ name: String, in metrics: RelayMetrics, hub: Hub) -> Double? {
    let text = String(decoding: metrics.render(hub: hub), as: UTF8.self)
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: " ")
        if parts.count == 2, parts[0] == name { return Double(parts[1]) }
    }
    return nil
}

@Suite struct RelayMetricsTests {
    @Test func aScrapeCountsConnectionsAndSubscriptions() {
        let metrics = RelayMetrics()
        let hub = Hub(metrics: metrics)
        let (a, _) = makeOutbox()
        let (b, _) = makeOutbox()
        hub.connect(a)
        hub.connect(b)
        hub.subscribe(a, to: "i1")
        hub.subscribe(a, to: "i2")
        hub.subscribe(b, to: "i1")
        #expect(sample("agentlive_relay_connections", in: metrics, hub: hub) == 2)
        #expect(sample("agentlive_relay_subscriptions", in: metrics, hub: hub) == 3)

        hub.unsubscribe(b, from: "i1")
        hub.disconnect(a)
        #expect(sample("agentlive_relay_connections", in: metrics, hub: hub) == 1)
        #expect(sample("agentlive_relay_subscriptions", in: metrics, hub: hub) == 0)
    }

    @Test func eventsSentCountEachFrameForEachClientThatTookIt() {
        let metrics = RelayMetrics()
        let hub = Hub(metrics: metrics)
        let clients = (0..<3).map { _ in makeOutbox().0 }
        for client in clients {
            hub.connect(client)
            hub.subscribe(client, to: "i1")
        }
        clients[2].requestClose(.goingAway, reason: "leaving")  // takes nothing more
        let frames = (1...4).map { Frames.event("task:message", payloadJSON: #"{"seq":\#($0)}"#) }

        #expect(hub.publish(frames, to: "i1") == 2)
        #expect(hub.publish(frames[0], to: "nobody-watches") == 0)
        #expect(sample("agentlive_relay_events_sent_total", in: metrics, hub: hub) == 8)
        #expect(sample("agentlive_relay_resyncs_total", in: metrics, hub: hub) == 0)
    }

    @Test func resyncsAreCountedApartFromEvents() {
        let metrics = RelayMetrics()
        let hub = Hub(metrics: metrics)
        let (a, aWrites) = makeOutbox()
        let (b, _) = makeOutbox()
        hub.connect(a)
        hub.connect(b)
        hub.subscribe(a, to: "i1")

        hub.resync(issue: "i1")
        hub.resyncAll()
        #expect(sample("agentlive_relay_resyncs_total", in: metrics, hub: hub) == 3)
        #expect(sample("agentlive_relay_events_sent_total", in: metrics, hub: hub) == 0)
        #expect(aWrites.frames == Array(repeating: String(buffer: Frames.resync), count: 2))
    }

    @Test func aSlowClientIsCountedOnceWithEveryFrameItLost() {
        let metrics = RelayMetrics()
        let hub = Hub(metrics: metrics)
        let writer = RecordingWriter(holding: true)
        let outbox = ClientOutbox(limits: .init(frames: 2, bytes: 1 << 20), writer: writer, metrics: metrics.outbox)
        let frame = Frames.event("task:progress", payloadJSON: "{}")

        #expect(outbox.push(frame))  // written (and held: the peer does not read)
        #expect(outbox.push(frame))  // queued
        #expect(outbox.push(frame))  // queued: the limit
        #expect(!outbox.push(frame))  // over the limit: closed, the two queued dropped with it
        #expect(!outbox.push(frame))  // closing: dropped
        #expect(outbox.closeRequest?.code == ClientOutbox.tryAgainLater)
        #expect(sample("agentlive_relay_slow_clients_closed_total", in: metrics, hub: hub) == 1)
        #expect(sample("agentlive_relay_frames_dropped_total", in: metrics, hub: hub) == 4)
    }

    @Test func anotherCloseIsNotASlowClient() {
        let metrics = RelayMetrics()
        let hub = Hub(metrics: metrics)
        let outbox = ClientOutbox(limits: .init(), writer: RecordingWriter(), metrics: metrics.outbox)
        outbox.requestClose(.policyViolation, reason: "credentials revoked")
        #expect(!outbox.push(Frames.resync))
        #expect(sample("agentlive_relay_slow_clients_closed_total", in: metrics, hub: hub) == 0)
        #expect(sample("agentlive_relay_frames_dropped_total", in: metrics, hub: hub) == 0)
    }

    @Test func theLagHistogramCountsEachRecordInItsBucket() {
        let metrics = RelayMetrics()
        let hub = Hub()
        metrics.recordLag(since: .now - .milliseconds(3))
        metrics.recordLag(since: .now - .seconds(5))
        let text = String(decoding: metrics.render(hub: hub), as: UTF8.self)
        #expect(sample("agentlive_relay_notify_to_send_seconds_count", in: metrics, hub: hub) == 2)
        #expect(text.contains(#"agentlive_relay_notify_to_send_seconds_bucket{le="0.002"} 0"#))
        #expect(text.contains(#"agentlive_relay_notify_to_send_seconds_bucket{le="0.005"} 1"#))
        #expect(text.contains(#"agentlive_relay_notify_to_send_seconds_bucket{le="2.5"} 1"#))
        #expect(text.contains(#"agentlive_relay_notify_to_send_seconds_bucket{le="+Inf"} 2"#))
    }

    @Test func everyMetricIsInAFreshScrape() {
        let metrics = RelayMetrics()
        let text = String(decoding: metrics.render(hub: Hub(metrics: metrics)), as: UTF8.self)
        for name in ["agentlive_relay_connections", "agentlive_relay_subscriptions", "agentlive_relay_events_sent_total",
                     "agentlive_relay_slow_clients_closed_total", "agentlive_relay_frames_dropped_total",
                     "agentlive_relay_resyncs_total", "agentlive_relay_listen_reconnects_total"] {
            #expect(sample(name, in: metrics, hub: Hub(metrics: metrics)) == 0, "\(name)")
        }
        #expect(text.contains("# TYPE agentlive_relay_notify_to_send_seconds histogram"))
    }
}
