import ServiceLifecycle

#if canImport(Glibc)
import CMalloc
#endif

/// When to hand freed memory back to the system.
///
/// glibc keeps what was freed in its arenas, and only `malloc_trim` gives the free
/// pages back: 1,000 frames of 60 KB left a relay at twice its idle size for good,
/// and a relay that had held 20,000 connections stayed at 835 MiB after they had all
/// gone. Trimming walks every arena, so it is done once something big is over, and
/// at most every `minInterval`: a burst of events (`threshold` bytes sent since the
/// last trim, then a tick with nothing published and nothing queued), or many
/// connections gone (`connectionsGone` fewer than the most held since the last
/// trim, then a tick in which no more went).
struct TrimPolicy: Sendable {
    /// What one second brought.
    struct Tick {
        /// Bytes handed to clients since the last tick.
        var published = 0
        /// Frames waiting in outboxes now.
        var queued = 0
        /// Connections now, and the most there were since the last tick.
        var connections = 0
        var peakConnections = 0
    }

    /// Bytes sent since the last trim that make one worth it.
    var threshold = 4 << 20
    /// Connections closed since the most held that make one worth it (about 10 KiB each).
    var connectionsGone = 1_000
    var minInterval: Duration = .seconds(5)

    private var sinceTrim = 0
    private var peakSinceTrim = 0
    private var lastConnections = 0
    private var lastTrim: ContinuousClock.Instant?

    init() {}

    init(threshold: Int, connectionsGone: Int = 1_000, minInterval: Duration) {
        (self.threshold, self.connectionsGone, self.minInterval) = (threshold, connectionsGone, minInterval)
    }

    /// True: trim now.
    mutating func tick(_ tick: Tick, now: ContinuousClock.Instant) -> Bool {
        sinceTrim += tick.published
        peakSinceTrim = max(peakSinceTrim, tick.peakConnections, tick.connections)
        defer { lastConnections = tick.connections }
        let quiet = tick.published == 0 && tick.queued == 0 && tick.connections >= lastConnections
        let worth = sinceTrim >= threshold || peakSinceTrim - tick.connections >= connectionsGone
        guard quiet, worth else { return false }
        if let lastTrim, now - lastTrim < minInterval { return false }
        (sinceTrim, peakSinceTrim, lastTrim) = (0, tick.connections, now)
        return true
    }
}

/// Applies `TrimPolicy` once a second.
struct MemoryTrimmer: Service {
    var hub: Hub

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var policy = TrimPolicy()
            while await sleep(.seconds(1)) {
                let tick = TrimPolicy.Tick(published: hub.takePublishedBytes(), queued: hub.queuedFrames,
                                           connections: hub.connectionCount, peakConnections: hub.takePeakConnections())
                guard policy.tick(tick, now: .now) else { continue }
                #if canImport(Glibc)
                malloc_trim(0)
                #endif
            }
        }
    }
}
