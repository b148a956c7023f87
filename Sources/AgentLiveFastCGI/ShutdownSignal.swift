#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// SIGTERM/SIGINT as a flag the accept loop polls. The handler is installed
/// without SA_RESTART so a blocked poll() or accept() returns at once.
enum ShutdownSignal {
    static let requested = Atomic<Bool>(false)

    static var isRequested: Bool { requested.load(ordering: .relaxed) }

    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            ShutdownSignal.requested.store(true, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        // A client that hangs up mid-response must not kill the worker.
        signal(SIGPIPE, SIG_IGN)
    }
}
