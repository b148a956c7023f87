@testable import AgentLiveRelay
import Testing

@Suite struct MessageRangeTests {
    @Test func inlinedDocumentsGetTheirSeqsAndAreUsedWhenWhole() {
        let range = MessageRange(issueID: "i", taskID: "t", after: 2, through: 4, documents: ["a", "b"])
        #expect(range.completed().rows.map(\.seq) == [3, 4])
        #expect(range.completed().rows.map(\.json) == ["a", "b"])
    }

    @Test func mergedNotificationsAreSortedAndWhatWasSentIsDropped() {
        var range = MessageRange(issueID: "i", taskID: "t", after: 1, through: 6,
                                 rows: [(5, "e"), (6, "f"), (1, "a"), (2, "b"), (3, "c"), (4, "d")])
        range = range.completed()
        #expect(range.rows.map(\.json) == ["b", "c", "d", "e", "f"])
    }

    @Test func aRangeWithAHoleIsReadFromTheDatabase() {
        let holed = MessageRange(issueID: "i", taskID: "t", after: 0, through: 4, rows: [(1, "a"), (2, "b"), (4, "d")])
        #expect(holed.completed().rows.isEmpty)
        let bare = MessageRange(issueID: "i", taskID: "t", after: 0, through: 2)
        #expect(bare.completed().rows.isEmpty)
    }
}
