import AgentLiveCredentials
import AgentLiveRelay
import Foundation
import NIOCore
import NIOWebSocket
import Testing

/// Takes the frames a client's outbox holds right now.
func drain(_ outbox: ClientOutbox) async -> [String] {
    var frames: [String] = []
    var iterator = outbox.frames.makeAsyncIterator()
    for _ in 0..<outbox.queuedFrames {
        guard let frame = await iterator.next() else { break }
        outbox.taken(frame)
        frames.append(String(buffer: frame))
    }
    return frames
}

@Suite struct HubTests {
    @Test func publishesOnlyToSubscribersOfTheIssue() async {
        let hub = Hub()
        let a = ClientOutbox(limits: .init())
        let b = ClientOutbox(limits: .init())
        hub.connect(a)
        hub.connect(b)
        hub.subscribe(a, to: "i1")
        hub.subscribe(b, to: "i2")
        hub.publish(ByteBuffer(string: "one"), to: "i1")
        hub.publish(ByteBuffer(string: "two"), to: "i3")
        let received = await drain(a)
        #expect(received == ["one"])
        #expect(b.queuedFrames == 0)
        hub.disconnect(a)
        #expect(!hub.hasSubscribers("i1"))
        #expect(hub.connectionCount == 1)
    }

    @Test func aClientThatFallsBehindIsClosedWith1013AndOthersAreNotAffected() async {
        let hub = Hub()
        let slow = ClientOutbox(limits: .init(frames: 3, bytes: 1 << 20))
        let fast = ClientOutbox(limits: .init(frames: 100, bytes: 1 << 20))
        for client in [slow, fast] {
            hub.connect(client)
            hub.subscribe(client, to: "i")
        }
        for n in 1...5 { hub.publish(ByteBuffer(string: "\(n)"), to: "i") }
        #expect(slow.closeRequest?.code == ClientOutbox.tryAgainLater)
        #expect(fast.closeRequest == nil)
        let received = await drain(fast)
        #expect(received == ["1", "2", "3", "4", "5"])
    }

    @Test func theByteLimitCountsToo() {
        let outbox = ClientOutbox(limits: .init(frames: 100, bytes: 10))
        outbox.push(ByteBuffer(string: "12345"))
        #expect(outbox.closeRequest == nil)
        outbox.push(ByteBuffer(string: "123456"))
        #expect(outbox.closeRequest?.code == ClientOutbox.tryAgainLater)
    }

    @Test func theFirstCloseRequestWins() {
        let hub = Hub()
        let outbox = ClientOutbox(limits: .init())
        hub.connect(outbox)
        hub.closeAll(.goingAway, reason: "bye")
        outbox.requestClose(.policyViolation, reason: "later")
        #expect(outbox.closeRequest?.code == .goingAway)
    }
}

/// A directory with one user, who may view issue `visible`.
struct FakeDirectory: RelayDirectory {
    static let visible = "11111111-1111-1111-1111-111111111111"
    static let hidden = "22222222-2222-2222-2222-222222222222"
    var validToken: String

    func user(for token: PresentedToken) async throws -> String? {
        token.plaintext == validToken ? "user-1" : nil
    }

    func canView(user: String, issue: String) async throws -> Bool {
        issue == Self.visible
    }
}

@Suite struct ClientSessionTests {
    let token = "alu_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48)

    func makeSession() -> (ClientSession, ClientOutbox, Hub) {
        let hub = Hub()
        let outbox = ClientOutbox(limits: .init())
        hub.connect(outbox)
        return (ClientSession(outbox: outbox, hub: hub, directory: FakeDirectory(validToken: token)), outbox, hub)
    }

    func types(_ frames: [String]) -> [String] {
        frames.compactMap {
            let object = try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            let payload = object?["payload"] as? [String: Any]
            return [object?["type"] as? String, payload?["code"] as? String].compactMap { $0 }.joined(separator: "/")
        }
    }

    @Test func subscribingNeedsAuthenticationFirst() async {
        let (session, outbox, hub) = makeSession()
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        let frames = await drain(outbox)
        #expect(types(frames) == ["error/unauthorized"])
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
    }

    @Test func authFrameThenSubscribeAndUnsubscribe() async {
        let (session, outbox, hub) = makeSession()
        await session.receive(#"{"type":"auth","payload":{"token":"\#(token)"}}"#)
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible.uppercased())"}}"#)
        #expect(hub.hasSubscribers(FakeDirectory.visible))
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.hidden)"}}"#)
        await session.receive(#"{"type":"unsubscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
        let frames = await drain(outbox)
        #expect(types(frames) == ["authenticated", "subscribed", "error/forbidden", "unsubscribed"])
    }

    @Test(arguments: [
        #"{"type":"auth","payload":{"token":"alu_nope"}}"#,
        #"{"type":"auth","payload":{}}"#,
        #"{"type":"auth","payload":{"token":"alu_\#(String(repeating: "c", count: 32))_\#(String(repeating: "d", count: 48))"}}"#,
    ])
    func badCredentialsAreAnsweredThenClosedWithPolicyViolation(frame: String) async {
        let (session, outbox, _) = makeSession()
        await session.receive(frame)
        #expect(outbox.closeRequest?.code == .policyViolation)
        #expect(!session.isAuthenticated)
        let frames = await drain(outbox)
        #expect(types(frames) == ["error/unauthorized"])
    }

    @Test func garbageIsAnsweredAndTheConnectionStays() async {
        let (session, outbox, _) = makeSession()
        await session.receive("{not json")
        await session.receive(#"{"type":"dance"}"#)
        await session.receive(#"{"type":"ping"}"#)
        let frames = await drain(outbox)
        #expect(types(frames) == ["error/invalid_message", "error/invalid_message", "pong"])
        #expect(outbox.closeRequest == nil)
    }

    @Test func subscriptionsAreCapped() async {
        let (session, outbox, hub) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        for _ in 0..<ClientSession.maxSubscriptions { hub.subscribe(outbox, to: UUID().uuidString) }
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(FakeDirectory.visible)"}}"#)
        let frames = await drain(outbox)
        #expect(types(frames) == ["error/too_many_subscriptions"])
    }
}
