import AgentLiveCredentials
@testable import AgentLiveRelay
import NIOWebSocket
import Testing

/// The hub and a client session together: what a revocation, a removed membership,
/// an expiry and a subscribe flood do to a connection.
@Suite struct RevocationTests {
    let token = "alu_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48)
    var tokenID: String { PresentedToken(token)!.id }

    func makeSession(expiresIn: Duration? = nil) -> (ClientSession, ClientOutbox, Hub, RecordingWriter) {
        let hub = Hub()
        let (outbox, writer) = makeOutbox()
        hub.connect(outbox)
        let directory = FakeDirectory(validToken: token, expiresIn: expiresIn)
        return (ClientSession(outbox: outbox, hub: hub, directory: directory), outbox, hub, writer)
    }

    func subscribe(_ session: ClientSession, _ issue: String = FakeDirectory.visible) async {
        await session.receive(#"{"type":"subscribe","payload":{"issue_id":"\#(issue)"}}"#)
    }

    @Test func aRevokedTokenIsToldAndClosedAndGetsNoMoreEvents() async {
        let (session, outbox, hub, writer) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        await subscribe(session)
        let strangers = hub.revoke(token: "00000000-0000-0000-0000-000000000000")
        let holders = hub.revoke(token: tokenID)
        #expect(strangers == 0 && holders == 1)
        #expect(outbox.closeRequest?.code == .policyViolation)
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
        hub.publish(Frames.control("late"), to: FakeDirectory.visible)
        #expect(writer.frames.last?.contains("unauthorized") == true)
    }

    @Test func aRemovedMemberLosesTheIssuesItCanNoLongerView() async {
        let (session, outbox, hub, writer) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        await subscribe(session)
        let watched = hub.membershipRemoved(user: "user-1")
        let nobody = hub.membershipRemoved(user: "user-2")
        #expect(watched == [FakeDirectory.visible] && nobody.isEmpty)
        hub.withdraw(user: "user-1", issues: [FakeDirectory.visible])
        #expect(!hub.hasSubscribers(FakeDirectory.visible))
        #expect(writer.frames.last?.contains(#""code":"forbidden""#) == true)
        #expect(writer.frames.last?.contains(FakeDirectory.visible) == true)
        #expect(outbox.closeRequest == nil)
    }

    @Test func aSessionIsClosedWhenItExpires() async {
        let (session, outbox, hub, writer) = makeSession(expiresIn: .seconds(30))
        await session.authenticate(.success(PresentedToken(token)!))
        hub.checkDeadlines(now: .now + .seconds(29))
        #expect(outbox.closeRequest == nil)
        hub.checkDeadlines(now: .now + .seconds(31))
        #expect(outbox.closeRequest?.code == .policyViolation)
        #expect(writer.frames.last?.contains("unauthorized") == true)
    }

    @Test func aTokenWithoutExpiryStaysOpen() async {
        let (session, outbox, hub, _) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        hub.checkDeadlines(now: .now + .seconds(365 * 86400))
        #expect(outbox.closeRequest == nil)
    }

    @Test func aSubscribeFloodIsRefusedThenClosed() async {
        let (session, outbox, _, writer) = makeSession()
        await session.authenticate(.success(PresentedToken(token)!))
        let limit = SubscribeRateLimit()
        // Far more than the burst, faster than the refill: refusals, then the close.
        for _ in 0..<(Int(limit.burst) + limit.closeAfter + 50) where outbox.closeRequest == nil {
            await subscribe(session, FakeDirectory.hidden)
        }
        let codes = writer.frames.compactMap { frame in
            ["forbidden", "rate_limited"].first { frame.contains(#""code":"\#($0)""#) }
        }
        #expect(codes.filter { $0 == "rate_limited" }.count >= limit.closeAfter)
        #expect(codes.filter { $0 == "forbidden" }.count < Int(limit.burst) + 20)
        #expect(outbox.closeRequest?.code == .policyViolation)
    }
}
