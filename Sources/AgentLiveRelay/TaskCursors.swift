/// Keeps each task's `task:message` events in ascending seq with no repeats.
///
/// The relay remembers, per task, the last seq it sent. Rows it fetches are sent
/// only while they continue that sequence; after a hole (a batch that committed
/// later than the one after it) the rest waits until the hole fills or until the
/// caller gives up waiting (`skipGap`), after which late rows are not sent live:
/// clients fetch them over HTTP like any other missed message.
public struct TaskCursors: Sendable {
    private var lastSent: [String: Int64] = [:]

    public init() {}

    /// The seq after which to fetch for a notification of from...to, or nil when
    /// everything in it has been sent already.
    public func fetchAfter(task: String, fromSeq: Int64, toSeq: Int64) -> Int64? {
        guard let last = lastSent[task] else { return fromSeq - 1 }
        return toSeq > last ? last : nil
    }

    /// Of `seqs` (ascending, fetched after `after`), how many to send now, and
    /// whether a hole holds back the rest: they must continue the last seq sent or,
    /// for a task not seen before, follow `after`.
    public mutating func admit(task: String, seqs: [Int64], after: Int64, skipGap: Bool = false) -> (count: Int, gap: Bool) {
        guard let lastSeq = seqs.last else { return (0, false) }
        guard !skipGap else {
            lastSent[task] = lastSeq
            return (seqs.count, false)
        }
        var expected = (lastSent[task] ?? after) + 1
        var count = 0
        for seq in seqs {
            guard seq == expected else { break }
            count += 1
            expected += 1
        }
        if count > 0 { lastSent[task] = seqs[count - 1] }
        return (count, count < seqs.count)
    }

    public func lastSent(task: String) -> Int64? { lastSent[task] }

    /// A task that ended sends no more messages.
    public mutating func forget(task: String) {
        lastSent[task] = nil
    }

    /// After missed notifications (a lost LISTEN connection) nothing is known.
    public mutating func reset() {
        lastSent = [:]
    }
}
