extension Dictionary {
    /// Gives back the storage of a dictionary that has shrunk to an eighth of its
    /// capacity: Swift keeps a dictionary's capacity after removals, so a relay's
    /// tables of 20,000 connections stayed that large once they had all gone. The
    /// copy costs O(count) and comes only after 7/8 of the capacity was removed, so
    /// removals stay O(1) amortized.
    mutating func releaseSpareCapacity() {
        guard capacity > 64, count < capacity / 8 else { return }
        var smaller = Dictionary(minimumCapacity: count)
        for (key, value) in self { smaller[key] = value }
        self = smaller
    }
}
