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
            PresentedToken.hasSessionCookie(fields)
        else { return }
        let expected = publicOrigin ?? PageOrigin.normalized("\(request.head.scheme ?? "http")://\(request.head.authority ?? "")")
        let presented: String? =
            if let origin = fields[.origin] { PageOrigin.normalized(origin) }
            else if let referer = fields[.referer] { PageOrigin.normalized(referer) }
            else { nil }
        guard let expected, let presented, presented == expected else {
            throw APIError(.forbidden, "cross_origin", "This request did not come from the AgentLive page, so the session cookie does not count for it.")
        }
    }
}
