import NIOCore

extension EventPumpStateMachine {
    /// What the pump takes from its mailbox.
    enum Input: Equatable, Sendable {
        /// The LISTEN connection is up; `reconnected` after it was lost once.
        case listening(reconnected: Bool)
        /// With the instant the LISTEN loop took it (the start of its lag, see `RelayMetrics.recordLag`).
        case notification(RelayNotification, received: ContinuousClock.Instant)
        /// Time is up for a hole in this task's seqs: send what follows it.
        case gapTimeout(issueID: String, taskID: String, through: Int64)
        /// Check every connection's access again (after a lost LISTEN connection).
        case recheckAccess(attempt: Int)

        var isMessages: Bool {
            if case .notification(.messages, _) = self { return true }
            return false
        }
    }

    /// A task's messages after < seq <= through, to read from the database.
    struct MessageQuery: Equatable, Sendable {
        var taskID: String
        var after: Int64
        var through: Int64
    }

    /// The row an event's payload is read from.
    enum EventRow: Equatable, Sendable {
        case task(id: String)
        case comment(id: String)
    }

    /// What the pump does next. Those that ask for something are answered with the
    /// method named; after any other, the pump calls `next(watched:)`.
    enum Action: Equatable, Sendable {
        /// Read these messages with one query: `messagesFetched` or `messagesFetchFailed`.
        case fetchMessages([MessageQuery])
        /// Read the event's payload from its row: `payloadFetched` or `payloadFetchFailed`.
        case fetchPayload(EventRow)
        /// Send the frames to the issue's subscribers, and record the lag since
        /// `lagSince` if they reached anyone (nil: not recorded, e.g. after a gap wait).
        case publish([ByteBuffer], issueID: String, lagSince: ContinuousClock.Instant?)
        /// Tell the issue's subscribers to catch up over HTTP.
        case resync(issueID: String)
        /// The LISTEN connection came back: count the reconnect and tell every
        /// client to catch up over HTTP.
        case resyncAll
        /// Close the connections of a revoked token.
        case revoke(tokenID: String)
        /// Withdraw the subscriptions a removed member may no longer see:
        /// `removedMemberChecked`.
        case checkRemovedMember(userID: String)
        /// Check every open connection's token and subscriptions again:
        /// `accessRechecked`.
        case recheckAccess(attempt: Int)
        /// Close the user's connections with 1013 (try again later).
        case closeConnections(userID: String, reason: String)
        /// Close every connection with 1013 (try again later).
        case closeAllConnections(reason: String)
        /// Hand `input` back to the machine after `delay`.
        case schedule(Input, after: Duration)
        /// Nothing left to do: `received` with the next inputs.
        case waitForInputs
    }
}
