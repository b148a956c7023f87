import AgentLiveCredentials
import HTTPTypes

/// Cross-site request forgery: a browser attaches the session cookie to requests
/// that other pages make (same-site ones included: another port of the same host),
/// so a state change authenticated by the cookie must come from the page's own
/// origin. Bearer clients are not browsers and are not checked.
enum BrowserOrigin {
    static let stateChanging: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    /// Throws 403 `cross_origin` for a cookie-authenticated state change whose
    /// `Origin` (or, without one, `Referer`) is not `expected`; no header at all is refused too.
    static func check(_ request: APIRequest, publicOrigin: String?) throws(APIError) {
        let fields = request.head.headerFields
        guard stateChanging.contains(request.head.method), fields[.authorization] == nil,
            PresentedCookie.hasSession(fields)
        else { return }
        let expected = publicOrigin ?? normalized("\(request.head.scheme ?? "http")://\(request.head.authority ?? "")")
        let presented: String? =
            if let origin = fields[.origin] { normalized(origin) }
            else if let referer = fields[.referer] { normalized(referer) }
            else { nil }
        guard let expected, let presented, presented == expected else {
            throw APIError(.forbidden, "cross_origin", "This request did not come from the AgentLive page, so the session cookie does not count for it.")
        }
    }

    /// `scheme://host[:port]` in lowercase, default ports left out, from an origin or
    /// a URL; nil for `null`, other schemes, or no host.
    static func normalized(_ text: String) -> String? {
        let lower = text.lowercased()
        let scheme: String, defaultPort: String
        if lower.hasPrefix("https://") { (scheme, defaultPort) = ("https", "443") }
        else if lower.hasPrefix("http://") { (scheme, defaultPort) = ("http", "80") }
        else { return nil }
        let rest = lower.dropFirst(scheme.count + 3)
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") || authority.isEmpty { return nil }
        if authority.hasSuffix(":\(defaultPort)") { authority = authority.dropLast(defaultPort.count + 1) }
        return "\(scheme)://\(authority)"
    }
}

/// Whether the request carries the session cookie at all (valid or not).
enum PresentedCookie {
    static func hasSession(_ fields: HTTPFields) -> Bool {
        fields[values: .cookie].contains { header in
            header.split(separator: ";").contains {
                $0.drop(while: { $0 == " " }).hasPrefix("\(PresentedToken.sessionCookie)=")
            }
        }
    }
}
