import Logging
import ServiceLifecycle

/// Fails the tasks of daemons that stopped heartbeating, so a lost daemon's task
/// ends even when nobody is watching. Every relay runs it; it is idempotent.
struct Reaper: Service {
    var database: RelayDatabase
    var interval: Duration
    var timeoutSeconds: Int
    var logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while await sleep(interval) {
                do {
                    let reaped = try await database.reapLostDaemons(timeoutSeconds: timeoutSeconds)
                    if reaped > 0 { logger.notice("failed tasks of lost daemons", metadata: ["tasks": "\(reaped)"]) }
                } catch {
                    logger.warning("reap_lost_daemons failed", metadata: ["error": "\(String(reflecting: error))"])
                }
            }
        }
    }
}
