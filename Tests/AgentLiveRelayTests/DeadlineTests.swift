import AgentLiveRelay
import Synchronization
import Testing

final class Flag: Sendable {
    private let state = Atomic<Bool>(false)
    func set() { state.store(true, ordering: .relaxed) }
    var value: Bool { state.load(ordering: .relaxed) }
}

@Suite struct DeadlineTests {
    @Test func returnsTheResultInTime() async throws {
        let value = try await withDeadline(.seconds(5)) { 42 }
        #expect(value == 42)
    }

    @Test func givesUpOnAnOperationThatIgnoresCancellation() async {
        let operationEnded = Flag()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) {
                // Blocks without looking at cancellation, like a stuck pool lease.
                await Task.detached { try? await Task.sleep(for: .seconds(3)) }.value
                operationEnded.set()
                return 1
            }
        }
        #expect(!operationEnded.value, "the caller went on before the operation ended")
    }

    @Test func passesErrorsThrough() async {
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await withDeadline(.seconds(5)) { throw Boom() } }
    }
}
