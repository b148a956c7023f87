import AgentLiveCredentials
import Foundation
import HTTPTypes

/// Cross-site WebSocket hijacking: a browser attaches the session cookie to a
/// WebSocket upgrade that any page opens (same-site ones included: another port of
/// the same host), and the same-origin policy does not apply to WebSockets. So an
/// upgrade authenticated by the cookie must come from the page's own origin.
///
/// Browsers always send `Origin` on a WebSocket upgrade; a request without one is
/// not a browser's and is not checked, nor are Bearer-header and first-frame
/// clients (their token is not ambient: another page cannot present it).
enum UpgradeOrigin {
    /// Whether to refuse this upgrade (HTTP 403). `publicOrigin` is
    /// `AGENTLIVE_PUBLIC_ORIGIN`, normalized; without it the page's origin is the
    /// request's own: `X-Forwarded-Proto` (set by nginx) or http, and `Host` as the
    /// client sent it (nginx passes `$http_host`, port included).
    static func refuses(_ fields: HTTPFields, publicOrigin: String?) -> Bool {
        guard fields[.authorization] == nil, PresentedToken.hasSessionCookie(fields), let origin = fields[.origin] else { return false }
        guard let expected = publicOrigin ?? expected(fields) else { return true }
        return PageOrigin.normalized(origin) != expected
    }

    /// `scheme://host[:port]` of the request, from its headers.
    static func expected(_ fields: HTTPFields) -> String? {
        let forwarded = fields[forwardedProto]?
            .split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased()
        let scheme = forwarded == "https" ? "https" : "http"
        guard let host = fields[hostName], !host.isEmpty else { return nil }
        return PageOrigin.normalized("\(scheme)://\(host)")
    }

    private static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    /// A plain field here: NIO's HTTP/1 head is converted field by field.
    private static let hostName = HTTPField.Name("Host")!
}
