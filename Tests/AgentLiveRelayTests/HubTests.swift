import AgentLiveCredentials
import AgentLiveRelay
import Foundation
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// Stands in for a client's connection: records what the outbox writes, and
/// completes each write at once, or (`holding`) only when released, like a peer
/// that stopped reading.
final class RecordingWriter: ClientWriter {
    private struct Log {
        var writes: [[String]] = []
        var closes: [WebSocketErrorCode] = []
        var aborted = false
        var held: [@Sendable () -> Void] = []
    }

    private let holding: Bool
    private let log = Mutex(Log())

    init(holding: Bool = false) { self.holding = holding }

    func write(_ frames: [ByteBuffer], done: @escaping @Sendable () -> Void) {
        log.withLock {
            $0.writes.append(frames.map { String(buffer: $0) })
            if holding { $0.held.append(done) }
        }
        if !holding { done() }
    }

    func close(_ code: WebSocketErrorCode, reason: String) { log.withLock { $0.closes.append(code) } }
    func abort() { log.withLock { $0.aborted = true } }

    /// Completes the writes held so far.
    func release() {
        for done in log.withLock({ log in defer { log.held = [] }; return log.held }) { done() }
    }

    var writes: [[String]] { log.withLock { $0.writes } }
    var frames: [String] { writes.flatMap { $0 } }
    var closes: [WebSocketErrorCode] { log.withLock { $0.closes } }
    var aborted: Bool { log.withLock { $0.aborted } }
}

func makeOutbox(_ limits: ClientOutbox.Limits = .init(), holding: Bool = false) -> (ClientOutbox, RecordingWriter) {
    let writer = RecordingWriter(holding: holding)
    return (ClientOutbox(limits: limits, writer: writer), writer)
}

@Suite struct HubTests {
    @Test func publishesOnlyToSubscribersOfTheIssue() {
        let hub = Hub()
        let (a, aWrites) = makeOutbox()
        let (b, bWrites) = makeOutbox()
        hub.connect(a)
        hub.connect(b)
        hub.subscribe(a, to: "i1")
        hub.subscribe(b, to: "i2")
        hub.publish(ByteBuffer(string: "one"), to: "i1")
        hub.publish(ByteBuffer(string: "two"), to: "i3")
        #expect(aWrites.frames == ["one"])
        #expect(bWrites.frames.isEmpty)
        hub.disconnect(a)
        #expect(!hub.hasSubscribers("i1"))
        #expect(hub.connectionCount == 1)
    }

    @Test func remembersThePeakOfConnectionsBetweenLooks() {
        let hub = Hub()
        let clients = (0..<3).map { _ in makeOutbox().0 }
        clients.forEach(hub.connect)
        clients.dropFirst().forEach(hub.disconnect)
        #expect(hub.takePeakConnections() == 3)
        #expect(hub.takePeakConnections() == 1)
    }

    @Test func aClientThatFallsBehindIsClosedWith1013AndOthersAreNotAffected() {
        let hub = Hub()
        let (slow, slowWrites) = makeOutbox(.init(frames: 3, bytes: 1 << 20), holding: true)
        let (fast, fastWrites) = makeOutbox(.init(frames: 100, bytes: 1 << 20))
        for client in [slow, fast] {
            hub.connect(client)
            hub.subscribe(client, to: "i")
        }
        // The slow client's first frame stays in flight; 2…4 fill its queue, 5 overflows it.
        for n in 1...5 { hub.publish(ByteBuffer(string: "\(n)"), to: "i") }
        #expect(slow.closeRequest?.code == ClientOutbox.tryAgainLater)
        #expect(fast.closeRequest == nil)
        #expect(fastWrites.frames == ["1", "2", "3", "4", "5"])
        // Its backlog is dropped: once the write in flight is done, the close follows.
        #expect(slowWrites.closes.isEmpty)
        slowWrites.release()
        #expect(slowWrites.writes == [["1"]])
        #expect(slowWrites.closes == [ClientOutbox.tryAgainLater])
    }

    @Test func framesQueuedDuringAWriteGoOutTogetherInTheNext() {
        let (outbox, writer) = makeOutbox(holding: true)
        outbox.push(ByteBuffer(string: "a"))
        outbox.push(contentsOf: ["b", "c"].map { ByteBuffer(string: $0) })
        outbox.push(ByteBuffer(string: "d"))
        #expect(writer.writes == [["a"]])
        #expect(outbox.queuedFrames == 3)
        writer.release()
        #expect(writer.writes == [["a"], ["b", "c", "d"]])
        writer.release()
        #expect(outbox.queuedFrames == 0)
    }

    @Test func theByteLimitCountsToo() {
        let (outbox, writer) = makeOutbox(.init(frames: 100, bytes: 10), holding: true)
        outbox.push(ByteBuffer(string: "in flight"))
        outbox.push(ByteBuffer(string: "12345"))
        #expect(outbox.closeRequest == nil)
        outbox.push(ByteBuffer(string: "123456"))
        #expect(outbox.closeRequest?.code == ClientOutbox.tryAgainLater)
        writer.release()
        #expect(writer.frames == ["in flight"])
    }

    @Test func aCloseWaitsForWhatWasQueuedBeforeIt() {
        let (outbox, writer) = makeOutbox(holding: true)
        outbox.push(ByteBuffer(string: "first"))
        outbox.push(ByteBuffer(string: "the error"))
        outbox.requestClose(.policyViolation, reason: "unauthorized")
        outbox.push(ByteBuffer(string: "after the close"))
        #expect(writer.closes.isEmpty)
        writer.release()
        #expect(writer.closes.isEmpty)
        writer.release()
        #expect(writer.frames == ["first", "the error"])
        #expect(writer.closes == [.policyViolation])
    }

    @Test func theFirstCloseRequestWins() {
        let hub = Hub()
        let (outbox, writer) = makeOutbox()
        hub.connect(outbox)
        hub.closeAll(.goingAway, reason: "bye")
        outbox.requestClose(.policyViolation, reason: "later")
        #expect(outbox.closeRequest?.code == .goingAway)
        #expect(writer.closes == [.goingAway])
    }

    @Test func aConnectionThatDoesNotAuthenticateInTimeIsClosed() {
        let hub = Hub()
        let deadlines = ClientOutbox.Deadlines(authenticate: .seconds(10), closeGrace: .seconds(30))
        let late = RecordingWriter(), onTime = RecordingWriter()
        let lateOutbox = ClientOutbox(limits: .init(), deadlines: deadlines, writer: late)
        let onTimeOutbox = ClientOutbox(limits: .init(), deadlines: deadlines, writer: onTime)
        hub.connect(lateOutbox)
        hub.connect(onTimeOutbox)
        onTimeOutbox.authenticated()
        hub.checkDeadlines(now: .now + .seconds(9))
        #expect(late.closes.isEmpty)
        hub.checkDeadlines(now: .now + .seconds(11))
        #expect(late.closes == [.policyViolation])
        #expect(onTime.closes.isEmpty)
        #expect(!late.aborted)
    }

    @Test func aCloseThePeerDoesNotTakeEndsTheConnectionAfterTheGrace() {
        let writer = RecordingWriter(holding: true)
        let outbox = ClientOutbox(limits: .init(), deadlines: .init(closeGrace: .seconds(30)), writer: writer)
        outbox.authenticated()
        outbox.push(ByteBuffer(string: "never read"))
        outbox.requestClose(.goingAway, reason: "bye")
        outbox.checkDeadline(now: .now + .seconds(29))
        #expect(!writer.aborted)
        outbox.checkDeadline(now: .now + .seconds(31))
        #expect(writer.aborted)
        #expect(writer.closes.isEmpty)
    }
}

/// A directory with one user, who may view issue `visible`.
struct FakeDirectory: RelayDirectory {
    static let visible = "11111111-1111-1111-1111-111111111111"
    static let hidden = "22222222-2222-2222-2222-222222222222"
    var validToken: String
    var expiresIn: Duration? = nil

    func identity(for token: PresentedToken) async throws -> RelayIdentity? {
        token.plaintext == validToken ? RelayIdentity(user: "user-1", expiresIn: expiresIn) : nil
    }

    func canView(user: String, issue: String) async throws -> Bool {
        issue == Self.visible
    }
}

@Suite struct ClientSessionTests {
    let token = "alu_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48)

    func makeSession() -> (ClientSession, ClientOutbox, Hub, RecordingWriter) {
        let hub = Hub()
        let (outbox, writer) = makeOutbox()
        hub.connect(outbox)
        return (ClientSession(outbox: outbox, hub: hub, directory: FakeDirectory(validToken: token)), outbox, hub, writer)
    }

    func types(_ frames: [String]) -> [String] {
        frames.compactMap {
            let object = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            let payload = object?["payload"] as? [String: Any]
            return [object?["type"] as? String, payload?["code"] as? String].compactMap { $0 }.joined(separator: "/")
        }
    }

    @Test func subscribingNeedsAuthenticationFirst() async {
        let (session, _, hub, writer) = makeSession()
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        let frames = writer.frames
        #expect(types(frames) == ["error/unauthorized"])
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
    }

    @Test func authFrameThenSubscribeAndUnsubscribe() async {
        let (session, outbox, hub, writer) = makeSession()
        await session.receive(#"{"type":"auth","payload":{"token":"\#(token)"}}"#)
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible.uppercased())"}}"#)
        #expect(hub.hasSubscribers(FakeDirectory.visible))
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.hidden)"}}"#)
        await session.receive(#"{"type":"unsubscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
        let frames = writer.frames
        #expect(types(frames) == ["authenticated", "subscribed", "error/forbidden", "unsubscribed"])
        // Authenticated: the authentication deadline no longer applies.
        hub.checkDeadlines(now: .now + .seconds(60))
        #expect(outbox.closeRequest == nil)
    }

    @Test(arguments: [
        #"{"type":"auth","payload":{"token":"alu_nope"}}"#,
        #"{"type":"auth","payload":{}}"#,
        #"{"type":"auth","payload":{"token":"alu_\#(String(repeating: "c", count: 32))_\#(String(repeating: "d", count: 48))"}}"#,
    ])
    func badCredentialsAreAnsweredThenClosedWithPolicyViolation(frame: String) async {
        let (session, outbox, _, writer) = makeSession()
        await session.receive(frame)
        #expect(outbox.closeRequest?.code == .policyViolation)
        #expect(!session.isAuthenticated)
        let frames = writer.frames
        #expect(types(frames) == ["error/unauthorized"])
    }

    @Test func garbageIsAnsweredAndTheConnectionStays() async {
        let (session, outbox, _, writer) = makeSession()
        await session.receive("{not json")
        await session.receive(#"{"type":"dance"}"#)
        await session.receive(#"{"type":"ping"}"#)
        let frames = writer.frames
        #expect(types(frames) == ["error/invalid_message", "error/invalid_message", "pong"])
        #expect(outbox.closeRequest == nil)
    }

    @Test func subscriptionsAreCapped() async {
        let (session, outbox, hub, writer) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        for _ in 0..<ClientSession.maxSubscriptions { hub.subscribe(outbox, to: UUID().uuidString) }
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        let frames = writer.frames
        #expect(types(frames) == ["error/too_many_subscriptions"])
    }
}
