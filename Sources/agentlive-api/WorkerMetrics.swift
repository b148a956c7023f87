import AgentLiveAPI
import AgentLiveFastCGI

/// The API's side of the pool's scoreboard: its route table as the layout, and
/// the API's events counted in a worker's slot.
enum WorkerMetrics {
    static let layout = ScoreboardLayout(
        routes: Router.routes.map {
            // Route's description is "METHOD /pattern".
            ScoreboardLayout.Route(method: String($0.description.prefix { $0 != " " }), pattern: $0.pattern)
        })

    static func events(_ slot: WorkerSlot) -> APIEvents {
        var events = APIEvents()
        events.messagesIngested = { slot.add(.messagesIngested, $0) }
        events.databaseError = { slot.add($0 ? .databaseUnavailable : .databaseErrors) }
        return events
    }
}
