/// Where each counter of a worker's scoreboard slot lives: a slot is an array of
/// 64-bit words, laid out from the route table (the last route is `other`: no
/// route matched), a fixed list of statuses (the last is `other`) and fixed
/// duration buckets. Supervisor and workers compute the same layout from the same
/// route table; its fingerprint, stored in the region's header, tells a worker of
/// another build (spawned after a reload) that the layout differs.
public struct ScoreboardLayout: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        public var method: String
        public var pattern: String

        public init(method: String, pattern: String) {
            self.method = method
            self.pattern = pattern
        }
    }

    /// The worker's state, in the slot's first word.
    public enum State: UInt64, Sendable {
        case free = 0, starting, idle, busy
    }

    /// Single counters, one word each.
    public enum Counter: Int, Sendable, CaseIterable {
        case messagesIngested = 2, databaseUnavailable, databaseErrors
    }

    /// The statuses the API answers with; any other counts as `other`.
    public static let statuses: [Int] = [
        200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504,
    ]
    /// Upper bounds of the duration buckets, in seconds (then +Inf). A catch-up
    /// page takes 3.1 ms at p50 and 4.8 ms at p99 through nginx on this machine
    /// (deploy/dev/BENCHMARKS.md): finer buckets at the low end keep p50 and p99
    /// meaningful.
    public static let bucketBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    static let stateWord = 0
    static let pidWord = 1
    static let fixedWords = 8

    /// The route table; index `routes.count` is `other`.
    public let routes: [Route]

    public init(routes: [Route]) {
        self.routes = routes
    }

    public var routeCount: Int { routes.count + 1 }
    public var otherRoute: Int { routes.count }
    var statusCount: Int { Self.statuses.count + 1 }
    var bucketCount: Int { Self.bucketBounds.count + 1 }

    var requestsStart: Int { Self.fixedWords }
    var bucketsStart: Int { requestsStart + routeCount * statusCount }
    var sumsStart: Int { bucketsStart + routeCount * bucketCount }

    /// Words per slot, rounded up to whole 64-byte cache lines so that two
    /// workers never write to the same line.
    public var slotWords: Int { (sumsStart + routeCount + 7) / 8 * 8 }

    public func statusIndex(_ status: Int) -> Int {
        Self.statuses.firstIndex(of: status) ?? Self.statuses.count
    }

    public func bucketIndex(seconds: Double) -> Int {
        Self.bucketBounds.firstIndex { seconds <= $0 } ?? Self.bucketBounds.count
    }

    func requestWord(route: Int, statusIndex: Int) -> Int {
        requestsStart + route * statusCount + statusIndex
    }

    func bucketWord(route: Int, bucket: Int) -> Int {
        bucketsStart + route * bucketCount + bucket
    }

    /// The sum of a route's durations, in nanoseconds.
    func sumWord(route: Int) -> Int {
        sumsStart + route
    }

    /// FNV-1a over everything the word offsets depend on.
    public var fingerprint: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 + [0] {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        routes.forEach { mix($0.method); mix($0.pattern) }
        Self.statuses.forEach { mix(String($0)) }
        Self.bucketBounds.forEach { mix("\($0)") }
        mix(String(slotWords))
        return hash
    }
}
