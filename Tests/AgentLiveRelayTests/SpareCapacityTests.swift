@testable import AgentLiveRelay
import Testing

@Suite struct SpareCapacityTests {
    @Test func aDictionaryEmptiedToAnEighthGivesItsStorageBackAndKeepsItsEntries() {
        var table = Dictionary(uniqueKeysWithValues: (0..<10_000).map { ($0, "v\($0)") })
        let full = table.capacity
        for key in 10..<10_000 { table[key] = nil }
        #expect(table.capacity == full)  // Swift keeps it
        table.releaseSpareCapacity()
        #expect(table.capacity < 100)
        #expect(table == Dictionary(uniqueKeysWithValues: (0..<10).map { ($0, "v\($0)") }))
    }

    @Test func aDictionaryStillUsingItsStorageKeepsIt() {
        var table = Dictionary(uniqueKeysWithValues: (0..<10_000).map { ($0, $0) })
        let full = table.capacity
        for key in 0..<5_000 { table[key] = nil }
        table.releaseSpareCapacity()
        #expect(table.capacity == full)
    }
}
