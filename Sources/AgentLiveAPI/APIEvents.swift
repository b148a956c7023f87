/// What the API reports for metrics besides each response's route and status
/// (`APIResponse.route`): the worker counts them in its scoreboard slot.
public struct APIEvents {
    /// Messages stored by an ingest batch (duplicates left out).
    public var messagesIngested: (Int) -> Void = { _ in }
    /// A database call failed with a server error: `true` when the database
    /// could not be reached (the request is answered 503 database_unavailable).
    public var databaseError: (_ unavailable: Bool) -> Void = { _ in }

    public init() {}

    /// The `accepted` count of api_ingest's result (sql/definitions/45_ingest.sql),
    /// e.g. `{"accepted": 5, "last_seq": 9, "duplicates": 0}`; 0 when absent.
    static func accepted(in document: [UInt8]) -> Int {
        let key = Array("\"accepted\":".utf8)
        guard let start = document.indices.first(where: { document[$0...].starts(with: key) }) else { return 0 }
        var index = start + key.count
        while index < document.count, document[index] == UInt8(ascii: " ") { index += 1 }
        var value = 0
        while index < document.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(document[index]) {
            value = value * 10 + Int(document[index] - UInt8(ascii: "0"))
            index += 1
        }
        return value
    }
}
