@testable import AgentLiveRelay
import NIOCore

/// Runs an `EventPumpStateMachine` the way `EventPump` does, answering its
/// questions from a pretend database, and writes down every action as a line of
/// text, so a test reads as the story of what the pump would do.
struct PumpScript {
    typealias Input = EventPumpStateMachine.Input
    typealias Action = EventPumpStateMachine.Action

    var machine = EventPumpStateMachine(gapWait: .milliseconds(500))
    /// The issues with subscribers.
    var watched: Set<String> = ["i"]
    /// Committed messages: task → seq → JSON.
    var stored: [String: [Int64: String]] = [:]
    /// Task and comment payloads by id; a missing one is a row that is gone.
    var payloads: [String: String] = [:]
    var failReads = false
    var failMemberChecks = false
    /// How many access checks fail before one succeeds.
    var failedAccessChecks = 0
    /// Every action, in order (`waitForInputs` left out).
    private(set) var actions: [Action] = []

    /// Stores messages from...to of a task, each JSON "<task><seq>".
    mutating func commit(_ task: String, _ seqs: ClosedRange<Int64>) {
        for seq in seqs { stored[task, default: [:]][seq] = "\(task)\(seq)" }
    }

    /// Hands the inputs over as one batch and runs until the machine waits; the
    /// lines for what it did.
    @discardableResult
    mutating func send(_ inputs: [Input]) -> [String] {
        let first = actions.count
        let watched = self.watched
        var action = machine.received(inputs, watched: { watched.contains($0) })
        while action != .waitForInputs {
            actions.append(action)
            action = answer(action, watched: { watched.contains($0) })
        }
        return actions[first...].map(Self.line)
    }

    private mutating func answer(_ action: Action, watched: (String) -> Bool) -> Action {
        switch action {
        case .fetchMessages(let queries):
            guard !failReads else { return machine.messagesFetchFailed(watched: watched) }
            var rows: [String: [(seq: Int64, json: String)]] = [:]
            for query in queries {
                rows[query.taskID] = (stored[query.taskID] ?? [:]).filter { $0.key > query.after && $0.key <= query.through }
                    .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            return machine.messagesFetched(rows, watched: watched)
        case .fetchPayload(.task(let id)), .fetchPayload(.comment(let id)):
            guard !failReads else { return machine.payloadFetchFailed(watched: watched) }
            return machine.payloadFetched(payloads[id], watched: watched)
        case .checkRemovedMember:
            return machine.removedMemberChecked(succeeded: !failMemberChecks, watched: watched)
        case .recheckAccess:
            defer { failedAccessChecks = max(failedAccessChecks - 1, 0) }
            return machine.accessRechecked(succeeded: failedAccessChecks == 0, watched: watched)
        default:
            return machine.next(watched: watched)
        }
    }

    static func line(_ action: Action) -> String {
        switch action {
        case .fetchMessages(let queries): "fetch " + queries.map { "\($0.taskID)>\($0.after)...\($0.through)" }.joined(separator: " ")
        case .fetchPayload(.task(let task)): "fetch task \(task)"
        case .fetchPayload(.comment(let comment)): "fetch comment \(comment)"
        case .publish(let frames, let issue, let lagSince):
            "publish \(issue): " + frames.map(event).joined(separator: " ") + (lagSince == nil ? "" : " (lag)")
        case .resync(let issue): "resync \(issue)"
        case .resyncAll: "resync all"
        case .revoke(let token): "revoke \(token)"
        case .checkRemovedMember(let user): "check member \(user)"
        case .recheckAccess(let attempt): "check access \(attempt)"
        case .closeConnections(let user, _): "close \(user)"
        case .closeAllConnections: "close all"
        case .schedule(.gapTimeout(let issue, let task, let through), let delay): "in \(delay): gap \(issue) \(task) through \(through)"
        case .schedule(.recheckAccess(let attempt), let delay): "in \(delay): check access \(attempt)"
        case .schedule(let input, let delay): "in \(delay): \(input)"
        case .waitForInputs: "wait"
        }
    }

    /// A frame as `<payload>` for a message, `<type> <payload>` otherwise.
    static func event(_ frame: ByteBuffer) -> String {
        let text = String(buffer: frame)
        let prefix = #"{"type":""#, separator = #"","payload":"#
        guard text.hasPrefix(prefix), let split = text.range(of: separator) else { return text }
        let type = text[text.index(text.startIndex, offsetBy: prefix.count)..<split.lowerBound]
        let payload = text[split.upperBound...].dropLast()
        return type == "task:message" ? String(payload) : "\(type) \(payload)"
    }
}

/// Notifications as the LISTEN loop hands them over.
enum Note {
    static let received = ContinuousClock.now

    /// Messages from...to of a task of issue i (or `issue`); `inline` with their
    /// documents in the notification.
    static func messages(_ task: String, _ seqs: ClosedRange<Int64>, issue: String = "i", inline: Bool = false,
                         at received: ContinuousClock.Instant = received) -> EventPumpStateMachine.Input {
        let documents = inline ? seqs.map { "\(task)\($0)" } : []
        return .notification(.messages(issueID: issue, taskID: task, fromSeq: seqs.lowerBound, toSeq: seqs.upperBound,
                                       documents: documents), received: received)
    }

    static func task(_ event: String, _ task: String, issue: String = "i") -> EventPumpStateMachine.Input {
        .notification(.task(event: event, issueID: issue, taskID: task), received: received)
    }

    static func progress(_ task: String, step: Int, issue: String = "i") -> EventPumpStateMachine.Input {
        .notification(.progress(issueID: issue, taskID: task, summary: nil, step: step, total: nil), received: received)
    }
}
