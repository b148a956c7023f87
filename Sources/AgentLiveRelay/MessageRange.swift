/// Messages after < seq <= through of one task, and those of them at hand.
struct MessageRange {
    var issueID: String
    var taskID: String
    var after: Int64
    var through: Int64
    var rows: [(seq: Int64, json: String)] = []
    /// When the earliest notification of the range arrived; nil for a range sent
    /// after a gap wait (its lag is not recorded).
    var received: ContinuousClock.Instant?

    init(issueID: String, taskID: String, after: Int64, through: Int64, rows: [(seq: Int64, json: String)] = [],
         received: ContinuousClock.Instant? = nil) {
        (self.issueID, self.taskID, self.after, self.through, self.rows) = (issueID, taskID, after, through, rows)
        self.received = received
    }

    /// A notification's range, with its inlined documents (seqs from after + 1).
    init(issueID: String, taskID: String, after: Int64, through: Int64, documents: [String],
         received: ContinuousClock.Instant? = nil) {
        self.init(issueID: issueID, taskID: taskID, after: after, through: through,
                  rows: documents.enumerated().map { (after + 1 + Int64($0.offset), $0.element) }, received: received)
    }

    /// Keeps the rows only if they are the whole range, in order; otherwise none,
    /// and the range is read from the database.
    func completed() -> MessageRange {
        var range = self
        range.rows = rows.filter { $0.seq > after }.sorted { $0.seq < $1.seq }
        let whole = range.rows.count == through - after
            && range.rows.enumerated().allSatisfy { $0.element.seq == after + 1 + Int64($0.offset) }
        if !whole { range.rows = [] }
        return range
    }
}
