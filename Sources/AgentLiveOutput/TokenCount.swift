import AgentLiveWire

extension Int64 {
    /// Adds token counts read from agent output: absurd values saturate instead
    /// of trapping, since agent output must never take the daemon down.
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension Optional where Wrapped == Int64 {
    /// nil stays nil only when nothing is added.
    public func saturatingAdding(_ other: Int64?) -> Int64? {
        guard let other else { return self }
        return (self ?? 0).saturatingAdding(other)
    }
}
