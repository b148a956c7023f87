@testable import AgentLiveRelay
import Testing

@Suite struct EventPumpStateMachineTests {
    @Test("A batch's message notifications are read with one query, one range per task, in task order")
    func runsAreMergedPerTask() {
        var pump = PumpScript()
        pump.commit("t", 1...4)
        pump.commit("u", 1...1)
        let lines = pump.send([Note.messages("t", 1...2), Note.messages("u", 1...1), Note.messages("t", 3...4)])
        #expect(lines == ["fetch t>0...4 u>0...1", "publish i: t1 t2 t3 t4 (lag)", "publish i: u1 (lag)"])
    }

    @Test("Whether an issue has subscribers is asked once per range, so a subscription that changes meanwhile cannot lose it")
    func subscribersAreAskedOncePerRange() {
        var machine = EventPumpStateMachine(gapWait: .milliseconds(500))
        var answers = [true, false]  // subscribed when first asked, gone by a second question
        var asked = 0
        let action = machine.received([Note.messages("t", 1...1, inline: true)], watched: { _ in
            asked += 1
            return answers.isEmpty ? false : answers.removeFirst()
        })
        #expect(asked == 1)
        #expect(action == .publish([Frames.event("task:message", payloadJSON: "t1")], issueID: "i", lagSince: Note.received))
    }

    @Test("Messages that came inline are published without a query")
    func inlineMessagesNeedNoQuery() {
        var pump = PumpScript()
        #expect(pump.send([Note.messages("t", 1...2, inline: true), Note.messages("t", 3...3, inline: true)])
            == ["publish i: t1 t2 t3 (lag)"])
    }

    @Test("A merged range's lag counts from its earliest notification")
    func lagCountsFromTheEarliestNotification() {
        var pump = PumpScript()
        let early = Note.received, late = Note.received + .milliseconds(30)
        pump.send([Note.messages("t", 1...1, inline: true, at: late), Note.messages("t", 2...2, inline: true, at: early)])
        #expect(pump.actions.last == .publish([Frames.event("task:message", payloadJSON: "t1"),
                                               Frames.event("task:message", payloadJSON: "t2")],
                                              issueID: "i", lagSince: early))
    }

    @Test("Messages already sent are skipped, and an overlapping notification is read from the last one sent")
    func duplicatesAreSkipped() {
        var pump = PumpScript()
        pump.commit("t", 1...5)
        pump.send([Note.messages("t", 1...3, inline: true)])
        #expect(pump.send([Note.messages("t", 1...3, inline: true)]).isEmpty)
        #expect(pump.send([Note.messages("t", 2...5)]) == ["fetch t>3...5", "publish i: t4 t5 (lag)"])
    }

    @Test("A hole holds later messages back until the gap timeout, which sends them without lag and gives up on the hole")
    func gapTimeoutSendsWhatFollowsTheHole() {
        var pump = PumpScript()
        pump.send([Note.messages("t", 1...2, inline: true)])
        // 5...6 committed before 3...4.
        pump.commit("t", 5...6)
        #expect(pump.send([Note.messages("t", 5...6, inline: true)])
            == ["fetch t>2...6", "in 0.5 seconds: gap i t through 6"])
        #expect(pump.send([.gapTimeout(issueID: "i", taskID: "t", through: 6)]) == ["fetch t>2...6", "publish i: t5 t6"])
        // The hole's messages, late, are not sent live.
        pump.commit("t", 3...4)
        #expect(pump.send([Note.messages("t", 3...4, inline: true)]).isEmpty)
    }

    @Test("A hole that fills sends its messages at once; the timeout then sends the rest held back")
    func holeFillsBeforeTheTimeout() {
        var pump = PumpScript()
        pump.send([Note.messages("t", 1...2, inline: true)])
        pump.commit("t", 5...6)
        pump.send([Note.messages("t", 5...6)])
        pump.commit("t", 3...4)
        #expect(pump.send([Note.messages("t", 3...4, inline: true)]) == ["publish i: t3 t4 (lag)"])
        #expect(pump.send([.gapTimeout(issueID: "i", taskID: "t", through: 6)]) == ["fetch t>4...6", "publish i: t5 t6"])
        #expect(pump.send([.gapTimeout(issueID: "i", taskID: "t", through: 6)]).isEmpty)
    }

    @Test("Messages of an issue nobody watches are counted as sent, so a later subscriber does not wait on them")
    func unwatchedRangesCountAsSent() {
        var pump = PumpScript()
        pump.commit("t", 1...6)
        pump.send([Note.messages("t", 1...2, inline: true)])
        pump.watched = []
        #expect(pump.send([Note.messages("t", 3...4)]).isEmpty)
        pump.watched = ["i"]
        #expect(pump.send([Note.messages("t", 5...6)]) == ["fetch t>4...6", "publish i: t5 t6 (lag)"])
    }

    @Test("In one batch, only the ranges of watched issues are read")
    func onlyWatchedRangesAreRead() {
        var pump = PumpScript()
        pump.commit("t", 1...2)
        pump.commit("u", 1...2)
        #expect(pump.send([Note.messages("t", 1...2), Note.messages("u", 1...2, issue: "j")])
            == ["fetch t>0...2", "publish i: t1 t2 (lag)"])
    }

    @Test("A failed read makes the subscribers of its issues resync; inline messages still go, and nothing counts as sent")
    func fetchFailureResyncsTheIssues() {
        var pump = PumpScript()
        pump.watched = ["i", "j", "k"]
        pump.commit("t", 1...2)
        pump.commit("u", 1...2)
        pump.failReads = true
        let lines = pump.send([Note.messages("u", 1...2, issue: "j"), Note.messages("t", 1...2),
                               Note.messages("v", 1...1, issue: "k", inline: true)])
        #expect(lines == ["fetch u>0...2 t>0...2", "resync i", "resync j", "publish k: v1 (lag)"])
        pump.failReads = false
        #expect(pump.send([Note.messages("t", 1...2)]) == ["fetch t>0...2", "publish i: t1 t2 (lag)"])
    }

    @Test("After a reconnect every client resyncs, access is checked again, and what was sent is forgotten")
    func reconnectResyncsAllAndRechecks() {
        var pump = PumpScript()
        #expect(pump.send([.listening(reconnected: false)]).isEmpty)
        pump.send([Note.messages("t", 1...2, inline: true)])
        #expect(pump.send([.listening(reconnected: true), Note.messages("t", 1...2, inline: true)])
            == ["resync all", "check access 1", "publish i: t1 t2 (lag)"])
    }

    @Test("A failed access check is tried again a second later, and after five failures every connection is closed")
    func accessRecheckRetriesThenCloses() {
        var pump = PumpScript()
        pump.failedAccessChecks = 5
        #expect(pump.send([.listening(reconnected: true)]) == ["resync all", "check access 1", "in 1.0 seconds: check access 2"])
        for attempt in 2...4 {
            #expect(pump.send([.recheckAccess(attempt: attempt)])
                == ["check access \(attempt)", "in 1.0 seconds: check access \(attempt + 1)"])
        }
        #expect(pump.send([.recheckAccess(attempt: 5)]) == ["check access 5", "close all"])
    }

    @Test("An access check that succeeds is not repeated")
    func accessRecheckSucceeds() {
        var pump = PumpScript()
        pump.failedAccessChecks = 1
        pump.send([.listening(reconnected: true)])
        #expect(pump.send([.recheckAccess(attempt: 2)]) == ["check access 2"])
    }

    @Test("A task's end forgets its cursor, and a gap timeout after it does nothing")
    func taskEndForgetsTheCursor() {
        var pump = PumpScript()
        pump.payloads["t"] = "{}"
        pump.send([Note.messages("t", 1...2, inline: true)])
        #expect(pump.send([Note.task("task:started", "t"), Note.messages("t", 1...2, inline: true)])
            == ["fetch task t", "publish i: task:started {} (lag)"])
        #expect(pump.send([Note.task("task:completed", "t"), .gapTimeout(issueID: "i", taskID: "t", through: 5)])
            == ["fetch task t", "publish i: task:completed {} (lag)"])
        #expect(pump.send([Note.messages("t", 1...2, inline: true)]) == ["publish i: t1 t2 (lag)"])
    }

    @Test("A task that ends unwatched is forgotten too", arguments: ["task:failed", "task:cancelled"])
    func unwatchedEndForgets(_ event: String) {
        var pump = PumpScript()
        pump.send([Note.messages("t", 1...2, inline: true)])
        pump.watched = []
        #expect(pump.send([Note.task(event, "t")]).isEmpty)
        pump.watched = ["i"]
        #expect(pump.send([Note.messages("t", 1...1, inline: true)]) == ["publish i: t1 (lag)"])
    }

    @Test("Any other notification ends a run, so a task's state events come between its messages as committed")
    func otherNotificationsBreakRuns() {
        var pump = PumpScript()
        pump.commit("t", 1...4)
        pump.payloads["t"] = #"{"state":"completed"}"#
        let lines = pump.send([Note.messages("t", 1...2), Note.progress("t", step: 1), Note.messages("t", 3...4),
                               Note.task("task:completed", "t")])
        #expect(lines == [
            "fetch t>0...2", "publish i: t1 t2 (lag)",
            #"publish i: task:progress {"issue_id":"i","step":1,"task_id":"t"} (lag)"#,
            "fetch t>2...4", "publish i: t3 t4 (lag)",
            "fetch task t", #"publish i: task:completed {"state":"completed"} (lag)"#,
        ])
    }

    @Test("Events of issues nobody watches are neither read nor published")
    func unwatchedEventsAreDropped() {
        var pump = PumpScript()
        pump.watched = []
        pump.payloads = ["t": "{}", "c": "{}"]
        #expect(pump.send([Note.task("task:started", "t"), Note.progress("t", step: 1),
                           .notification(.comment(issueID: "i", commentID: "c"), received: Note.received)]).isEmpty)
    }

    @Test("A comment is read and published; a row that is gone publishes nothing")
    func commentsAreReadAndPublished() {
        var pump = PumpScript()
        pump.payloads["c"] = #"{"body":"hi"}"#
        #expect(pump.send([.notification(.comment(issueID: "i", commentID: "c"), received: Note.received),
                           .notification(.comment(issueID: "i", commentID: "gone"), received: Note.received)])
            == ["fetch comment c", #"publish i: comment:created {"body":"hi"} (lag)"#, "fetch comment gone"])
    }

    @Test("An event that cannot be read makes its issue's subscribers resync")
    func payloadFailureResyncs() {
        var pump = PumpScript()
        pump.failReads = true
        #expect(pump.send([Note.task("task:started", "t")]) == ["fetch task t", "resync i"])
    }

    @Test("A removed member is checked in its place among the events; a failed check closes the member's connections")
    func removedMemberIsCheckedInPlace() {
        var pump = PumpScript()
        pump.watched = ["i", "j"]
        let removed = EventPumpStateMachine.Input.notification(.memberRemoved(workspaceID: "w", userID: "u"),
                                                               received: Note.received)
        let batch = [Note.messages("t", 1...1, inline: true), removed, Note.messages("v", 1...1, issue: "j", inline: true)]
        #expect(pump.send(batch) == ["publish i: t1 (lag)", "check member u", "publish j: v1 (lag)"])
        pump.failMemberChecks = true
        #expect(pump.send([removed, Note.progress("t", step: 2)])
            == ["check member u", "close u", #"publish i: task:progress {"issue_id":"i","step":2,"task_id":"t"} (lag)"#])
    }

    @Test("A revoked token's connections are closed in its place")
    func revokedTokenIsClosed() {
        var pump = PumpScript()
        #expect(pump.send([.notification(.tokenRevoked(tokenID: "k"), received: Note.received), Note.messages("t", 1...1, inline: true)])
            == ["revoke k", "publish i: t1 (lag)"])
    }
}
