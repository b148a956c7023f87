import ServiceLifecycle

#if canImport(Glibc)
import CMalloc
#endif

/// When to hand freed memory back to the system after a burst of events.
///
/// glibc keeps what a burst freed in its arenas (1,000 frames of 60 KB left a relay
/// at twice its idle size for good), and only `malloc_trim` gives the free pages
/// back. Trimming walks every arena, so it is done once a burst is over (nothing
/// published for a tick, nothing queued), only after a burst worth it, and at most
/// every `minInterval`.
struct TrimPolicy: Sendable {
    /// Bytes sent since the last trim that make one worth it.
    var threshold = 4 << 20
    var minInterval: Duration = .seconds(5)

    private var sinceTrim = 0
    private var lastTrim: ContinuousClock.Instant?

    init() {}

    init(threshold: Int, minInterval: Duration) {
        (self.threshold, self.minInterval) = (threshold, minInterval)
    }

    /// One tick: `published` bytes were handed to clients since the last tick and
    /// `queued` frames wait in outboxes. True: trim now.
    mutating func tick(published: Int, queued: Int, now: ContinuousClock.Instant) -> Bool {
        sinceTrim += published
        guard published == 0, queued == 0, sinceTrim >= threshold else { return false }
        if let lastTrim, now - lastTrim < minInterval { return false }
        (sinceTrim, lastTrim) = (0, now)
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
                guard policy.tick(published: hub.takePublishedBytes(), queued: hub.queuedFrames, now: .now) else { continue }
                #if canImport(Glibc)
                malloc_trim(0)
                #endif
            }
        }
    }
}
