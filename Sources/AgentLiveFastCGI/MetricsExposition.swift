/// The pool's snapshot in Prometheus text exposition format (version 0.0.4).
///
/// Written by hand rather than through swift-prometheus's registry: the counts
/// arrive already aggregated (bucket counts summed over the workers' slots), and
/// its histograms only take single observations, which a scrape would have to
/// replay one by one. Only series that have counted something are written
/// (requests by route and status, durations by route), which keeps a scrape to
/// the routes in use.
public struct MetricsExposition: Sendable {
    public var layout: ScoreboardLayout
    /// `agentlive_api` → `agentlive_api_requests_total`, …
    public var prefix: String

    public init(layout: ScoreboardLayout, prefix: String) {
        self.layout = layout
        self.prefix = prefix
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public func render(_ snapshot: PoolSnapshot) -> String {
        let counts = snapshot.counts
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(prefix)_\(name) \(help)\n# TYPE \(prefix)_\(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            out += "\(prefix)_\(name)"
            if !labels.isEmpty {
                out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " \(value)\n"
        }

        family("requests_total", "counter", "Requests answered, by route pattern (other: no route matched), method and status.")
        for route in 0..<layout.routeCount {
            for status in 0..<layout.statusCount {
                let value = counts[layout.requestWord(route: route, statusIndex: status)]
                guard value > 0 else { continue }
                let statusLabel = status < ScoreboardLayout.statuses.count ? String(ScoreboardLayout.statuses[status]) : "other"
                sample("requests_total", routeLabels(route) + [("status", statusLabel)], String(value))
            }
        }

        family("request_duration_seconds", "histogram", "Time from accepting a request to having written its response, by route.")
        for route in 0..<layout.routeCount {
            let buckets = (0..<layout.bucketCount).map { counts[layout.bucketWord(route: route, bucket: $0)] }
            let total = buckets.reduce(0, &+)
            guard total > 0 else { continue }
            var cumulative: UInt64 = 0
            for (index, count) in buckets.enumerated() {
                cumulative &+= count
                let bound = index < ScoreboardLayout.bucketBounds.count ? "\(ScoreboardLayout.bucketBounds[index])" : "+Inf"
                sample("request_duration_seconds_bucket", routeLabels(route) + [("le", bound)], String(cumulative))
            }
            let seconds = Double(counts[layout.sumWord(route: route)]) / 1e9
            sample("request_duration_seconds_sum", routeLabels(route), "\(seconds)")
            sample("request_duration_seconds_count", routeLabels(route), String(total))
        }

        family("workers", "gauge", "Worker processes by state (starting: spawned, not accepting yet).")
        sample("workers", [("state", "busy")], String(snapshot.busy))
        sample("workers", [("state", "idle")], String(snapshot.idle))
        sample("workers", [("state", "starting")], String(snapshot.starting))

        family("worker_restarts_total", "counter", "Workers that exited without being told to, and were replaced.")
        sample("worker_restarts_total", [], String(snapshot.restarts))

        family("messages_ingested_total", "counter", "Task messages stored from daemons' batches (duplicates not counted).")
        sample("messages_ingested_total", [], String(counts[ScoreboardLayout.Counter.messagesIngested.rawValue]))

        family("database_errors_total", "counter", "Failed database calls: unavailable (answered 503) or other server errors.")
        sample("database_errors_total", [("kind", "unavailable")], String(counts[ScoreboardLayout.Counter.databaseUnavailable.rawValue]))
        sample("database_errors_total", [("kind", "other")], String(counts[ScoreboardLayout.Counter.databaseErrors.rawValue]))
        return out
    }

    private func routeLabels(_ route: Int) -> [(String, String)] {
        guard route < layout.routes.count else { return [("route", "other"), ("method", "other")] }
        return [("route", layout.routes[route].pattern), ("method", layout.routes[route].method)]
    }

    /// A label value: backslash, double quote and line feed escaped.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
