@testable import AgentLiveRelay
import Testing

@Suite struct MailboxTests {
    @Test func theConsumerTakesEverythingQueuedAtOnce() async {
        let mailbox = Mailbox<Int>()
        for n in 1...3 { mailbox.send(n) }
        #expect(await mailbox.next() == [1, 2, 3])
        mailbox.send(4)
        mailbox.finish()
        mailbox.send(5)
        #expect(await mailbox.next() == [4])
        #expect(await mailbox.next() == nil)
    }

    @Test func aWaitingConsumerWakesForTheNextItem() async {
        let mailbox = Mailbox<Int>()
        async let taken = mailbox.next()
        try? await Task.sleep(for: .milliseconds(50))
        mailbox.send(7)
        #expect(await taken == [7])
    }

    @Test func cancellingTheConsumerEndsItsWait() async {
        let mailbox = Mailbox<Int>()
        let consumer = Task { await mailbox.next() }
        consumer.cancel()
        #expect(await consumer.value == nil)
    }
}
