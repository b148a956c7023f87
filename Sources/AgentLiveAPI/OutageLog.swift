/// What a worker logs about a database outage: one line when it starts, a summary
/// every `summaryInterval` while requests keep failing, one line when the database
/// answers again; nothing per request. Fed with events and the time, it returns
/// the line to write (if any); the caller writes it.
public struct OutageLog: Sendable {
    public enum Line: Equatable, Sendable {
        /// The first failure: why.
        case unavailable(reason: String)
        /// `failures` requests answered 503 in the last `seconds`.
        case stillUnavailable(failures: Int, seconds: Int)
        /// Back after `seconds`, `failures` requests answered 503 in all.
        case available(seconds: Int, failures: Int)

        public var message: String {
            switch self {
            case .unavailable(let reason): "database unavailable, answering 503 until it is back: \(reason)"
            case .stillUnavailable(let failures, let seconds):
                "database still unavailable, \(failures) \(failures == 1 ? "request" : "requests") answered 503 in the last \(seconds) s"
            case .available(let seconds, let failures):
                "database available again after \(seconds) s, \(failures) \(failures == 1 ? "request" : "requests") answered 503"
            }
        }
    }

    public var summaryInterval: Duration

    private var downSince: ContinuousClock.Instant?
    private var summarySince: ContinuousClock.Instant?
    private var failuresSinceSummary = 0
    private var failures = 0

    public init(summaryInterval: Duration = .seconds(5)) {
        self.summaryInterval = summaryInterval
    }

    public var isDown: Bool { downSince != nil }

    /// A request could not reach the database.
    public mutating func failed(_ reason: String, at now: ContinuousClock.Instant) -> Line? {
        failures += 1
        guard downSince != nil, let since = summarySince else {
            downSince = now
            summarySince = now
            failuresSinceSummary = 0
            return .unavailable(reason: reason)
        }
        failuresSinceSummary += 1
        guard now - since >= summaryInterval else { return nil }
        let line = Line.stillUnavailable(failures: failuresSinceSummary, seconds: Self.seconds(now - since))
        summarySince = now
        failuresSinceSummary = 0
        return line
    }

    /// A database call succeeded.
    public mutating func succeeded(at now: ContinuousClock.Instant) -> Line? {
        guard let since = downSince else { return nil }
        let line = Line.available(seconds: Self.seconds(now - since), failures: failures)
        self = OutageLog(summaryInterval: summaryInterval)
        return line
    }

    private static func seconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds)
    }
}
