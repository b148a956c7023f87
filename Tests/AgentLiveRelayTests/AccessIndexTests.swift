@testable import AgentLiveRelay
import Testing

@Suite struct AccessIndexTests {
    let holder = AccessIndex<Int>.Holder(token: "t1", user: "u1")

    @Test func revokingATokenReturnsTheConnectionsThatHoldItAndForgetsThem() {
        var index = AccessIndex<Int>()
        let r1 = index.add(1, holder, ifEpoch: 0)
        #expect(r1)
        let r2 = index.add(2, holder, ifEpoch: 0)
        #expect(r2)
        let r3 = index.add(3, .init(token: "t2", user: "u1"), ifEpoch: 0)
        #expect(r3)
        let r4 = index.revoke(token: "t1")
        #expect(r4 == [1, 2])
        #expect(index.holder(of: 1) == nil)
        #expect(index.connections(user: "u1") == [3])
        let r5 = index.revoke(token: "t1")
        #expect(r5 == [])
    }

    @Test func anAnswerLookedUpBeforeAnAccessChangeIsNotRecorded() {
        var index = AccessIndex<Int>()
        let before = index.epoch
        _ = index.revoke(token: "t9")
        let r6 = index.add(1, holder, ifEpoch: before)
        #expect(!r6)
        #expect(index.holder(of: 1) == nil)
        let r7 = index.add(1, holder, ifEpoch: index.epoch)
        #expect(r7)
        _ = index.membershipRemoved(user: "u2")
        #expect(index.epoch == before + 2)
    }

    @Test func aRemovedMembershipNamesTheUsersConnections() {
        var index = AccessIndex<Int>()
        _ = index.add(1, holder, ifEpoch: 0)
        _ = index.add(2, .init(token: "t2", user: "u2"), ifEpoch: 0)
        let r8 = index.membershipRemoved(user: "u1")
        #expect(r8 == [1])
        index.remove(1)
        let r9 = index.membershipRemoved(user: "u1")
        #expect(r9 == [])
    }
}

@Suite struct AccessNotificationTests {
    @Test func readsRevokedTokensAndRemovedMembers() {
        #expect(RelayNotification(payload: #"{"type":"auth:revoked","token_id":"ABC"}"#) == .tokenRevoked(tokenID: "abc"))
        #expect(RelayNotification(payload: #"{"type":"member:removed","workspace_id":"w","user_id":"u"}"#)
            == .memberRemoved(workspaceID: "w", userID: "u"))
        #expect(RelayNotification(payload: #"{"type":"auth:revoked","token_id":"abc"}"#)?.issueID == nil)
    }

    @Test func unknownTypesAndIncompleteOnesAreIgnored() {
        #expect(RelayNotification(payload: #"{"type":"auth:rotated","token_id":"abc"}"#) == nil)
        #expect(RelayNotification(payload: #"{"type":"member:removed","user_id":"u"}"#) == nil)
        #expect(RelayNotification(payload: #"{"type":"auth:revoked"}"#) == nil)
    }
}
