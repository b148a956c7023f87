import AgentLiveCredentials

/// Limits and settings, with the contract's defaults; each can be set from the environment.
public struct APIConfiguration: Sendable, Equatable {
    public var maxBodyBytes = 4 << 20
    public var maxBatch = 500
    public var maxContentBytes = 1 << 20
    public var maxInputBytes = 256 << 10
    public var maxSummaryCharacters = 2000
    public var maxPageSize = 1000
    public var defaultPageSize = 500
    public var sessionTTLSeconds = 30 * 24 * 3600
    /// The page's origin as browsers see it (`https://agentlive.example.com`), when
    /// nginx is behind a proxy that terminates TLS or rewrites Host: the session
    /// cookie is then `Secure` for an https origin, and state-changing cookie
    /// requests must come from exactly this origin. Unset: the request's own
    /// scheme and Host.
    public var publicOrigin: String?

    public init() {}

    /// Reads `AGENTLIVE_MAX_BODY_BYTES`, `AGENTLIVE_MAX_BATCH`, `AGENTLIVE_MAX_CONTENT_BYTES`,
    /// `AGENTLIVE_MAX_INPUT_BYTES`, `AGENTLIVE_SESSION_TTL_SECONDS` and `AGENTLIVE_PUBLIC_ORIGIN`;
    /// unset or invalid keeps the default.
    public init(environment: [String: String]) {
        func read(_ name: String, into value: inout Int) {
            if let text = environment[name], let number = Int(text), number > 0 { value = number }
        }
        read("AGENTLIVE_MAX_BODY_BYTES", into: &maxBodyBytes)
        read("AGENTLIVE_MAX_BATCH", into: &maxBatch)
        read("AGENTLIVE_MAX_CONTENT_BYTES", into: &maxContentBytes)
        read("AGENTLIVE_MAX_INPUT_BYTES", into: &maxInputBytes)
        read("AGENTLIVE_SESSION_TTL_SECONDS", into: &sessionTTLSeconds)
        if let origin = environment["AGENTLIVE_PUBLIC_ORIGIN"].flatMap(PageOrigin.normalized) { publicOrigin = origin }
    }
}
