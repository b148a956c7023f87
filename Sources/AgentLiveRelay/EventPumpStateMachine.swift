import NIOCore

/// The event pump's sequencing, with no I/O: which notifications are handled
/// together, which of a task's messages may be sent and when, and what to do after
/// a lost LISTEN connection or a failed query. `EventPump` feeds it what happened
/// (inputs, query results) and carries out the actions it returns, one at a time,
/// until it returns `.waitForInputs`. Whether an issue has subscribers is passed in
/// (`watched`) wherever the machine may go on to the next input.
///
/// Inputs are handled in the order they arrived (commit order, for notifications).
/// Consecutive message notifications form a run: one range per task (a task's
/// notifications merged), minus what was sent already, read with one query. Any
/// other input ends the run and is handled in its place, after the run's messages
/// are published, so a task's state events follow its messages. An action that
/// asks for something (a query, an access check) is answered with the matching
/// method before the machine goes on.
struct EventPumpStateMachine {
    /// Checks of every connection's access after a reconnect before giving up.
    static let recheckAttempts = 5
    /// The wait before a failed access check is tried again (the query connections
    /// may still be reconnecting).
    static let recheckDelay: Duration = .seconds(1)
    /// Events after which a task sends no more messages.
    static let endEvents: Set<String> = ["task:completed", "task:failed", "task:cancelled"]

    private enum State {
        /// Handing out actions and taking the next input.
        case running
        case fetchingMessages([MessageRange], skipGap: Bool)
        case fetchingPayload(event: String, issueID: String, received: ContinuousClock.Instant)
        case checkingRemovedMember(userID: String)
        case recheckingAccess(attempt: Int)
    }

    /// How long a hole in a task's seqs may hold back later messages.
    private let gapWait: Duration
    private var state = State.running
    private var cursors = TaskCursors()
    private var inputs = CircularBuffer<Input>()
    /// The message notifications taken since the last other input.
    private var run: [MessageRange] = []
    /// Actions decided and not yet handed out, in order.
    private var actions = CircularBuffer<Action>()

    init(gapWait: Duration = .seconds(1)) {
        self.gapWait = gapWait
    }

    /// Takes inputs that arrived together (after `.waitForInputs`).
    mutating func received(_ inputs: some Sequence<Input>, watched: (String) -> Bool) -> Action {
        self.inputs.append(contentsOf: inputs)
        return next(watched: watched)
    }

    /// The action after one that needs no answer.
    mutating func next(watched: (String) -> Bool) -> Action {
        while true {
            if let action = actions.popFirst() { return action }
            guard case .running = state else { preconditionFailure("the answer to the last action is missing: \(state)") }
            guard let input = inputs.first else {
                guard !run.isEmpty else { return .waitForInputs }
                deliverRun(watched: watched)
                continue
            }
            if !run.isEmpty && !input.isMessages {
                deliverRun(watched: watched)
                continue
            }
            inputs.removeFirst()
            handle(input, watched: watched)
        }
    }

    // MARK: Answers

    /// The rows of `.fetchMessages`, by task.
    mutating func messagesFetched(_ rows: [String: [(seq: Int64, json: String)]], watched: (String) -> Bool) -> Action {
        guard case .fetchingMessages(var ranges, let skipGap) = state else { preconditionFailure("no messages asked: \(state)") }
        state = .running
        for i in ranges.indices where ranges[i].rows.isEmpty { ranges[i].rows = rows[ranges[i].taskID] ?? [] }
        publish(ranges, skipGap: skipGap)
        return next(watched: watched)
    }

    /// `.fetchMessages` failed: the subscribers of those messages' issues catch up
    /// over HTTP; messages that came inline are still sent.
    mutating func messagesFetchFailed(watched: (String) -> Bool) -> Action {
        guard case .fetchingMessages(let ranges, let skipGap) = state else { preconditionFailure("no messages asked: \(state)") }
        state = .running
        for issue in Set(ranges.filter(\.rows.isEmpty).map(\.issueID)).sorted() { actions.append(.resync(issueID: issue)) }
        publish(ranges, skipGap: skipGap)
        return next(watched: watched)
    }

    /// The payload of `.fetchPayload`; nil when the row is gone (nothing to send).
    mutating func payloadFetched(_ payload: String?, watched: (String) -> Bool) -> Action {
        guard case .fetchingPayload(let event, let issue, let received) = state else {
            preconditionFailure("no payload asked: \(state)")
        }
        state = .running
        if let payload { actions.append(.publish([Frames.event(event, payloadJSON: payload)], issueID: issue, lagSince: received)) }
        return next(watched: watched)
    }

    /// The payload could not be read: the issue's subscribers catch up over HTTP.
    mutating func payloadFetchFailed(watched: (String) -> Bool) -> Action {
        guard case .fetchingPayload(_, let issue, _) = state else { preconditionFailure("no payload asked: \(state)") }
        state = .running
        actions.append(.resync(issueID: issue))
        return next(watched: watched)
    }

    /// The answer to `.checkRemovedMember`. A failed check closes the member's
    /// connections: they reconnect and are checked then.
    mutating func removedMemberChecked(succeeded: Bool, watched: (String) -> Bool) -> Action {
        guard case .checkingRemovedMember(let user) = state else { preconditionFailure("no member check asked: \(state)") }
        state = .running
        if !succeeded { actions.append(.closeConnections(userID: user, reason: "access could not be checked")) }
        return next(watched: watched)
    }

    /// The answer to `.recheckAccess`. A failed check is tried again after
    /// `recheckDelay`; after `recheckAttempts` failures every connection is closed:
    /// they reconnect and are checked then.
    mutating func accessRechecked(succeeded: Bool, watched: (String) -> Bool) -> Action {
        guard case .recheckingAccess(let attempt) = state else { preconditionFailure("no access check asked: \(state)") }
        state = .running
        if !succeeded {
            actions.append(attempt < Self.recheckAttempts
                ? .schedule(.recheckAccess(attempt: attempt + 1), after: Self.recheckDelay)
                : .closeAllConnections(reason: "access could not be checked"))
        }
        return next(watched: watched)
    }

    // MARK: Inputs

    private mutating func handle(_ input: Input, watched: (String) -> Bool) {
        switch input {
        case .notification(let notification, let received):
            handle(notification, received: received, watched: watched)
        case .listening(let reconnected):
            guard reconnected else { return }
            // Notifications sent while the connection was down are lost: nothing
            // sent before is known to be complete, and access may have changed.
            cursors.reset()
            actions.append(.resyncAll)
            ask(.recheckAccess(attempt: 1), then: .recheckingAccess(attempt: 1))
        case .recheckAccess(let attempt):
            ask(.recheckAccess(attempt: attempt), then: .recheckingAccess(attempt: attempt))
        case .gapTimeout(let issue, let task, let through):
            // Nothing left to send if the hole filled meanwhile or the task ended.
            guard let last = cursors.lastSent(task: task), through > last else { return }
            fetchAndPublish([MessageRange(issueID: issue, taskID: task, after: last, through: through)], skipGap: true)
        }
    }

    private mutating func handle(_ notification: RelayNotification, received: ContinuousClock.Instant,
                                 watched: (String) -> Bool) {
        switch notification {
        case .messages(let issue, let task, let from, let to, let documents):
            run.append(MessageRange(issueID: issue, taskID: task, after: from - 1, through: to, documents: documents,
                                    received: received))
        case .task(let event, let issue, let task):
            if Self.endEvents.contains(event) { cursors.forget(task: task) }
            guard watched(issue) else { return }
            ask(.fetchPayload(.task(id: task)), then: .fetchingPayload(event: event, issueID: issue, received: received))
        case .progress(let issue, let task, let summary, let step, let total):
            guard watched(issue) else { return }
            let payload = ProgressPayload(taskID: task, issueID: issue, summary: summary, step: step, total: total)
            actions.append(.publish([Frames.event("task:progress", payloadJSON: Frames.json(payload))], issueID: issue,
                                    lagSince: received))
        case .comment(let issue, let comment):
            guard watched(issue) else { return }
            ask(.fetchPayload(.comment(id: comment)),
                then: .fetchingPayload(event: "comment:created", issueID: issue, received: received))
        case .tokenRevoked(let token):
            actions.append(.revoke(tokenID: token))
        case .memberRemoved(_, let user):
            // Handled in its place: the workspace's events after this one go only to
            // the subscriptions that are still allowed.
            ask(.checkRemovedMember(userID: user), then: .checkingRemovedMember(userID: user))
        }
    }

    /// Hands out `action` after those already decided, and waits for its answer.
    private mutating func ask(_ action: Action, then waiting: State) {
        actions.append(action)
        state = waiting
    }

    // MARK: Messages

    /// The run's ranges, one per task, minus what was sent already.
    private mutating func deliverRun(watched: (String) -> Bool) {
        var ranges: [MessageRange] = []
        var index: [String: Int] = [:]
        for note in run {
            guard let after = cursors.fetchAfter(task: note.taskID, fromSeq: note.after + 1, toSeq: note.through) else { continue }
            if let i = index[note.taskID] {
                ranges[i].after = min(ranges[i].after, after)
                ranges[i].through = max(ranges[i].through, note.through)
                ranges[i].rows += note.rows
                if let received = note.received { ranges[i].received = min(ranges[i].received ?? received, received) }
            } else {
                index[note.taskID] = ranges.count
                ranges.append(MessageRange(issueID: note.issueID, taskID: note.taskID, after: after, through: note.through,
                                           rows: note.rows, received: note.received))
            }
        }
        run = []
        // Asked once per range: subscriptions change meanwhile, and a range must be
        // either sent or counted as sent, never both or neither.
        var toSend: [MessageRange] = []
        for range in ranges {
            if watched(range.issueID) {
                toSend.append(range)
            } else {
                // Nobody to send to: counted as sent, so a later subscriber does not
                // wait on a hole that is only the messages it was not there for.
                _ = cursors.admit(task: range.taskID, seqs: [range.through], after: range.after, skipGap: true)
            }
        }
        fetchAndPublish(toSend, skipGap: false)
    }

    /// Publishes each range's messages, asking for those that did not come inline
    /// (one query for all) first.
    private mutating func fetchAndPublish(_ ranges: [MessageRange], skipGap: Bool) {
        let ranges = ranges.map { $0.completed() }
        let missing = ranges.filter(\.rows.isEmpty)
        guard missing.isEmpty else {
            let queries = missing.map { MessageQuery(taskID: $0.taskID, after: $0.after, through: $0.through) }
            return ask(.fetchMessages(queries), then: .fetchingMessages(ranges, skipGap: skipGap))
        }
        publish(ranges, skipGap: skipGap)
    }

    /// Sends what continues each task's sequence; a hole holds back the rest until
    /// it fills or `gapWait` is over.
    private mutating func publish(_ ranges: [MessageRange], skipGap: Bool) {
        for range in ranges {
            let admitted = cursors.admit(task: range.taskID, seqs: range.rows.map(\.seq), after: range.after, skipGap: skipGap)
            if admitted.count > 0 {
                let frames = range.rows.prefix(admitted.count).map { Frames.event("task:message", payloadJSON: $0.json) }
                actions.append(.publish(frames, issueID: range.issueID, lagSince: range.received))
            }
            if admitted.gap {
                actions.append(.schedule(.gapTimeout(issueID: range.issueID, taskID: range.taskID, through: range.through),
                                         after: gapWait))
            }
        }
    }
}
