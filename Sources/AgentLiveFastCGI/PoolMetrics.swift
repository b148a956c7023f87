import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The supervisor's side of the scoreboard: which slot each worker writes, the
/// counts of workers that are gone (so that totals never go backwards when a
/// worker exits and its slot is reused), and the restarts. The supervisor's loop
/// assigns and frees slots; the metrics thread takes snapshots.
public final class PoolMetrics: Sendable {
    public let scoreboard: Scoreboard
    private let state: Mutex<State>

    struct State {
        var slotOf: [pid_t: Int] = [:]
        var free: [Int]
        /// Sums of the slots of workers that exited.
        var retired: [UInt64]
        var restarts: UInt64 = 0
    }

    public init(scoreboard: Scoreboard) {
        self.scoreboard = scoreboard
        state = Mutex(State(
            free: Array((0..<scoreboard.slotCount).reversed()),
            retired: [UInt64](repeating: 0, count: scoreboard.layout.slotWords)))
    }

    /// A zeroed slot for a worker about to be spawned, or nil when every slot is
    /// taken (more reloads in flight than the scoreboard was sized for).
    public func takeSlot() -> Int? {
        state.withLock { state in
            guard let slot = state.free.popLast() else { return nil }
            scoreboard.reset(slot: slot, state: .starting)
            return slot
        }
    }

    /// The worker was spawned (pid) or could not be (nil: the slot is free again).
    public func spawned(_ pid: pid_t?, slot: Int) {
        state.withLock { state in
            if let pid {
                state.slotOf[pid] = slot
                scoreboard.slot(slot)?.set(pid: pid)
            } else {
                scoreboard.reset(slot: slot, state: .free)
                state.free.append(slot)
            }
        }
    }

    /// The worker was reaped: its counts are final; they join the retired ones
    /// and its slot is free. `restarted`: it exited without being told to.
    public func exited(_ pid: pid_t, restarted: Bool) {
        state.withLock { state in
            if restarted { state.restarts += 1 }
            guard let slot = state.slotOf.removeValue(forKey: pid) else { return }
            Self.add(scoreboard.read(slot: slot), to: &state.retired)
            scoreboard.reset(slot: slot, state: .free)
            state.free.append(slot)
        }
    }

    public func snapshot() -> PoolSnapshot {
        state.withLock { state in
            var snapshot = PoolSnapshot(counts: state.retired, restarts: state.restarts)
            for slot in state.slotOf.values {
                let words = scoreboard.read(slot: slot)
                Self.add(words, to: &snapshot.counts)
                switch ScoreboardLayout.State(rawValue: words[ScoreboardLayout.stateWord]) {
                case .busy: snapshot.busy += 1
                case .idle: snapshot.idle += 1
                case .starting: snapshot.starting += 1
                case .free, nil: break
                }
            }
            return snapshot
        }
    }

    /// Adds the counters (every word after the state and pid).
    static func add(_ words: [UInt64], to totals: inout [UInt64]) {
        for index in ScoreboardLayout.Counter.messagesIngested.rawValue..<words.count {
            totals[index] &+= words[index]
        }
    }
}

/// The pool's counts at one moment: the summed counter words of the layout, and
/// the workers by state.
public struct PoolSnapshot: Sendable, Equatable {
    public var counts: [UInt64]
    public var busy = 0
    public var idle = 0
    public var starting = 0
    public var restarts: UInt64 = 0

    public init(counts: [UInt64], busy: Int = 0, idle: Int = 0, starting: Int = 0, restarts: UInt64 = 0) {
        self.counts = counts
        self.busy = busy
        self.idle = idle
        self.starting = starting
        self.restarts = restarts
    }
}
