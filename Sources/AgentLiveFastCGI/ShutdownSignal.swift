#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGTERM, SIGINT and SIGHUP as a flag the accept loop polls: each asks the
/// worker to finish its request and exit (under a supervisor, SIGHUP reaches a
/// worker only when every process of the pool is signalled, as
/// `systemctl kill -s HUP` does; the supervisor then starts a replacement).
///
/// The signals stay blocked except during the wait for a connection. A signal
/// that interrupted libfcgi after accept() (reading the request, writing the
/// answer) would make it close the connection, and nginx would answer 502/503;
/// blocked, it waits until the request is done and then ends the next wait.
enum ShutdownSignal {
    static let requested = Atomic<Bool>(false)
    static let signals = [SIGTERM, SIGINT, SIGHUP]

    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    /// One of the signals came and waits, blocked, to be taken.
    static var isPending: Bool {
        var pending = sigset_t()
        sigpending(&pending)
        return signals.contains { sigismember(&pending, $0) == 1 }
    }

    /// Blocks the signals, installs their handler, and returns the mask to
    /// wait with: the previous one, without them.
    static func install() -> sigset_t {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in signals { sigaddset(&blocked, signal) }
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            ShutdownSignal.requested.store(true, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        for signal in signals { sigaction(signal, &action, nil) }
        // A client that hangs up mid-response must not kill the worker.
        signal(SIGPIPE, SIG_IGN)

        var waiting = previous
        for signal in signals { sigdelset(&waiting, signal) }
        return waiting
    }
}
