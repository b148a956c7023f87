@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Logging
import Synchronization
import Testing

/// The server as the daemon sees it: stores messages by seq like the real one
/// (idempotently), and can be told to fail posts.
final class FakeServer: DaemonAPI, Sendable {
    struct State {
        var stored: [Int64: TaskMessagePayload] = [:]
        var posts = 0
        var duplicates = 0
        var completed: TaskCompletedPayload?
        var failed: TaskFailedPayload?
        var progress: [TaskProgressPayload] = []
        var started = false
    }

    let state = Mutex(State())
    /// Decides the fate of post number n (1-based): nil = accept.
    let postFailure: @Sendable (Int) -> DaemonAPIError?

    init(postFailure: @escaping @Sendable (Int) -> DaemonAPIError? = { _ in nil }) {
        self.postFailure = postFailure
    }

    func register(_ payload: DaemonRegisterPayload) async throws(DaemonAPIError) {}
    func heartbeat(_ payload: HeartbeatPayload) async throws(DaemonAPIError) -> [String] { [] }
    func claim(_ request: ClaimRequest) async throws(DaemonAPIError) -> TaskDispatchPayload? { nil }
    func start(task: String) async throws(DaemonAPIError) { state.withLock { $0.started = true } }
    func progress(task: String, _ payload: TaskProgressPayload) async throws(DaemonAPIError) {
        state.withLock { $0.progress.append(payload) }
    }

    func post(task: String, _ batch: TaskMessageBatch) async throws(DaemonAPIError) -> IngestResult {
        let number = state.withLock { state in
            state.posts += 1
            return state.posts
        }
        if let failure = postFailure(number) { throw failure }
        return state.withLock { state in
            var accepted = 0
            for message in batch.messages {
                if state.stored[message.seq] == nil {
                    state.stored[message.seq] = message
                    accepted += 1
                } else {
                    state.duplicates += 1
                }
            }
            return IngestResult(accepted: accepted, duplicates: batch.messages.count - accepted, lastSeq: state.stored.keys.max() ?? 0)
        }
    }

    func complete(task: String, _ payload: TaskCompletedPayload) async throws(DaemonAPIError) {
        state.withLock { $0.completed = payload }
    }

    func fail(task: String, _ payload: TaskFailedPayload) async throws(DaemonAPIError) {
        state.withLock { $0.failed = payload }
    }

    var messages: [TaskMessagePayload] { state.withLock { state in state.stored.keys.sorted().map { state.stored[$0]! } } }
}

/// Emits scripted events; with `hang`, then waits until cancelled.
final class ScriptedRuntime: AgentRuntime {
    let events: [AgentEvent]
    let outcome: Outcome = .completed(output: "done")
    let hang: Bool
    let emitted = Atomic<Int>(0)

    init(events: [AgentEvent], hang: Bool = false) {
        self.events = events
        self.hang = hang
    }

    func run(_ task: TaskDispatchPayload, in directory: URL, emit: @escaping @Sendable (AgentEvent) async -> Void) async throws -> Outcome {
        for event in events {
            await emit(event)
            emitted.add(1, ordering: .relaxed)
        }
        if hang {
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            throw CancellationError()
        }
        return outcome
    }
}

@Suite struct TaskRunnerTests {
    let dispatch = TaskDispatchPayload(taskID: "t1", issueID: "i1", title: "Fix it", description: "")
    let script: [AgentEvent] = [
        .text("Looking "), .text("around."),
        .toolUse(tool: "Bash", input: .object(["command": .string("cat .env")]), callID: "c1"),
        .toolResult(output: "API_KEY=abc\npassword=hunter2", callID: "c1", isError: false),
        .progress(summary: "Fixing", step: 1, total: 2),
        .error("warning: flaky"),
        .text("Fixed."),
    ]

    func runner(_ server: FakeServer, _ runtime: some AgentRuntime) -> TaskRunner {
        var runner = TaskRunner(
            api: server, runtime: runtime, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("agentlive-tests"),
            sanitizer: MessageSanitizer(redactor: try! Redactor()), logger: Logger(label: "test"))
        runner.throttleInterval = .milliseconds(50)
        return runner
    }

    @Test func streamsNumberedRedactedMessagesThenCompletes() async {
        let server = FakeServer()
        await runner(server, ScriptedRuntime(events: script)).run(dispatch, stop: StopSignal())
        let messages = server.messages
        #expect(messages.map(\.seq) == Array(1...Int64(messages.count)))
        #expect(messages.map(\.type) == [.text, .toolUse, .toolResult, .error, .text])
        #expect(messages[0].content == "Looking around.")
        #expect(messages[2].output == "API_KEY=[redacted]\npassword=[redacted]")
        #expect(messages[1].callID == "c1" && messages[2].callID == "c1")
        #expect(server.state.withLock { $0.completed } == TaskCompletedPayload(output: "done"))
        #expect(server.state.withLock { $0.progress.last } == TaskProgressPayload(summary: "Fixing", step: 1, total: 2))
    }

    @Test func retriesTransientFailuresWithoutLosingOrRepeatingAnything() async {
        // The first three posts fail as if the server were down.
        let server = FakeServer { $0 <= 3 ? .transient("down") : nil }
        let many = (0..<300).map { AgentEvent.toolResult(output: "line \($0)", callID: "c\($0)", isError: false) }
        await runner(server, ScriptedRuntime(events: many)).run(dispatch, stop: StopSignal())
        #expect(server.messages.map(\.seq) == Array(1...300))
        #expect(server.messages.map(\.output) == (0..<300).map { "line \($0)" })
        #expect(server.state.withLock { $0.posts } >= 4)
        #expect(server.state.withLock { $0.completed } != nil)
    }

    @Test func aTaskCancelledOnTheServerStopsTheAgentAndReportsNothing() async {
        let server = FakeServer { $0 >= 2 ? .taskNotActive : nil }
        let runtime = ScriptedRuntime(events: script, hang: true)
        await runner(server, runtime).run(dispatch, stop: StopSignal())
        #expect(server.state.withLock { $0.completed == nil && $0.failed == nil })
    }

    @Test func aDaemonThatStopsFailsItsTask() async {
        let server = FakeServer()
        let stop = StopSignal()
        let running = Task { await runner(server, ScriptedRuntime(events: script, hang: true)).run(dispatch, stop: stop) }
        try? await Task.sleep(for: .milliseconds(200))
        stop.set(.daemonStopping)
        running.cancel()
        await running.value
        #expect(server.state.withLock { $0.failed?.error } == "the daemon stopped before the task finished")
    }

    @Test func aFullBufferStopsTheAgentUntilTheServerCatchesUp() async {
        let gate = Atomic<Bool>(false)
        // Posts fail (as if the server were unreachable) until the gate opens.
        let server = FakeServer { _ in gate.load(ordering: .relaxed) ? nil : .transient("unreachable") }
        let big = String(repeating: "x", count: 10_000)
        let runtime = ScriptedRuntime(events: (0..<50).map { .toolResult(output: big, callID: "\($0)", isError: false) })
        var runner = runner(server, runtime)
        runner.bufferLimitBytes = 50_000
        let running = Task { await runner.run(dispatch, stop: StopSignal()) }
        try? await Task.sleep(for: .milliseconds(500))
        let whileBlocked = runtime.emitted.load(ordering: .relaxed)
        #expect(whileBlocked < 10)  // it stopped reading the agent instead of buffering all 50
        gate.store(true, ordering: .relaxed)
        await running.value
        #expect(server.messages.count == 50)
    }
}
