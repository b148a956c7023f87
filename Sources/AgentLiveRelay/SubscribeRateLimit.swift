/// How fast one connection may subscribe: each `subscribe` costs a database query,
/// so a flood from one client would take the relay's query connections from
/// everyone else. A token bucket: `burst` at once, then `perSecond`.
///
/// The burst covers more than a whole page's worth: the issues page subscribes up
/// to `ClientSession.maxSubscriptions` issues at once, and again after every
/// reconnect or when the user comes back to it. A client that keeps going after
/// being refused `closeAfter` times in a row is closed.
struct SubscribeRateLimit: Sendable {
    enum Verdict: Equatable { case allow, refuse, close }

    var burst = 200.0
    var perSecond = 10.0
    var closeAfter = 100

    private var tokens: Double?
    private var last: ContinuousClock.Instant?
    private var refusedInARow = 0

    init() {}

    init(burst: Double, perSecond: Double, closeAfter: Int) {
        (self.burst, self.perSecond, self.closeAfter) = (burst, perSecond, closeAfter)
    }

    mutating func admit(now: ContinuousClock.Instant) -> Verdict {
        let elapsed = last.map { now - $0 } ?? .zero
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var available = min(burst, (tokens ?? burst) + max(0, seconds) * perSecond)
        last = now
        defer { tokens = available }
        if available >= 1 {
            available -= 1
            refusedInARow = 0
            return .allow
        }
        refusedInARow += 1
        return refusedInARow >= closeAfter ? .close : .refuse
    }
}
