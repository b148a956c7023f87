import AgentLiveRelay
import Testing

@Suite struct TaskCursorsTests {
    @Test func firstSightingSendsTheWholeRange() {
        var cursors = TaskCursors()
        #expect(cursors.fetchAfter(task: "t", fromSeq: 5, toSeq: 9) == 4)
        #expect(cursors.admit(task: "t", seqs: [5, 6, 7, 8, 9], after: 4) == (5, false))
        #expect(cursors.lastSent(task: "t") == 9)
    }

    @Test func aHoleInTheFirstRoundHoldsBackWhatFollowsIt() {
        // Two notifications of one round, 1...3 and 7...9, fetched together; 4...6
        // has not committed yet.
        var cursors = TaskCursors()
        #expect(cursors.admit(task: "t", seqs: [1, 2, 3, 7, 8, 9], after: 0) == (3, true))
        #expect(cursors.lastSent(task: "t") == 3)
    }

    @Test func repeatedRangesAreNotSentTwice() {
        var cursors = TaskCursors()
        _ = cursors.admit(task: "t", seqs: [1, 2, 3], after: 0)
        #expect(cursors.fetchAfter(task: "t", fromSeq: 1, toSeq: 3) == nil)
        #expect(cursors.fetchAfter(task: "t", fromSeq: 2, toSeq: 5) == 3)
    }

    @Test func aHoleHoldsBackLaterSeqsUntilItFills() {
        var cursors = TaskCursors()
        _ = cursors.admit(task: "t", seqs: [1, 2], after: 0)
        // Batch 6...8 committed before batch 3...5.
        #expect(cursors.admit(task: "t", seqs: [6, 7, 8], after: 2) == (0, true))
        #expect(cursors.lastSent(task: "t") == 2)
        #expect(cursors.admit(task: "t", seqs: [3, 4, 5, 6, 7, 8], after: 2) == (6, false))
        #expect(cursors.lastSent(task: "t") == 8)
    }

    @Test func givingUpOnAHoleSendsWhatFollowsAndNeverGoesBack() {
        var cursors = TaskCursors()
        _ = cursors.admit(task: "t", seqs: [1], after: 0)
        #expect(cursors.admit(task: "t", seqs: [3, 4], after: 1, skipGap: true) == (2, false))
        #expect(cursors.fetchAfter(task: "t", fromSeq: 2, toSeq: 2) == nil)
    }

    @Test func partialRunIsSentUpToTheHole() {
        var cursors = TaskCursors()
        _ = cursors.admit(task: "t", seqs: [1], after: 0)
        #expect(cursors.admit(task: "t", seqs: [2, 3, 5], after: 1) == (2, true))
        #expect(cursors.lastSent(task: "t") == 3)
    }

    @Test func forgetAndResetStartOver() {
        var cursors = TaskCursors()
        _ = cursors.admit(task: "a", seqs: [1, 2], after: 0)
        _ = cursors.admit(task: "b", seqs: [1], after: 0)
        cursors.forget(task: "a")
        #expect(cursors.lastSent(task: "a") == nil)
        #expect(cursors.lastSent(task: "b") == 1)
        cursors.reset()
        #expect(cursors.lastSent(task: "b") == nil)
    }
}

@Suite struct RelayNotificationTests {
    @Test func parsesEachKindOfNotification() {
        #expect(RelayNotification(payload: #"{"type":"task:message","issue_id":"i","task_id":"t","from_seq":3,"to_seq":7,"count":5}"#)
            == .messages(issueID: "i", taskID: "t", fromSeq: 3, toSeq: 7))
        #expect(RelayNotification(payload: #"{"type":"task:started","issue_id":"i","task_id":"t"}"#)
            == .task(event: "task:started", issueID: "i", taskID: "t"))
        #expect(RelayNotification(payload: #"{"type":"task:progress","issue_id":"i","task_id":"t","summary":"s","step":1,"total":null}"#)
            == .progress(issueID: "i", taskID: "t", summary: "s", step: 1, total: nil))
        #expect(RelayNotification(payload: #"{"type":"comment:created","issue_id":"i","comment_id":"c"}"#)
            == .comment(issueID: "i", commentID: "c"))
    }

    @Test func readsMessagesThatCameAlong() {
        let header = #"{"type":"task:message","issue_id":"i","task_id":"t","from_seq":3,"to_seq":4,"count":2}"#
        #expect(RelayNotification(payload: header + "\n{\"seq\":3}\n{\"seq\":4}")
            == .messages(issueID: "i", taskID: "t", fromSeq: 3, toSeq: 4, documents: [#"{"seq":3}"#, #"{"seq":4}"#]))
        // Documents that do not match the range one to one are left out: the relay reads the rows.
        #expect(RelayNotification(payload: header + "\n{\"seq\":3}")
            == .messages(issueID: "i", taskID: "t", fromSeq: 3, toSeq: 4))
    }

    @Test func ignoresWhatItDoesNotUnderstand() {
        #expect(RelayNotification(payload: "not json") == nil)
        #expect(RelayNotification(payload: #"{"type":"task:message","issue_id":"i","task_id":"t"}"#) == nil)
        #expect(RelayNotification(payload: #"{"type":"issue:renamed","issue_id":"i"}"#) == nil)
    }
}
