import HTTPTypes

/// What the API and the relay need to tell a browser's ambient credential (the
/// session cookie) and the page it comes from.
public enum PageOrigin {
    /// `scheme://host[:port]` in lowercase, default ports left out, from an origin or
    /// a URL; nil for `null`, other schemes, or no host.
    public static func normalized(_ text: String) -> String? {
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

extension PresentedToken {
    /// Whether the request carries the session cookie at all (valid or not).
    public static func hasSessionCookie(_ fields: HTTPFields) -> Bool {
        fields[values: .cookie].contains { header in
            header.split(separator: ";").contains {
                $0.drop(while: { $0 == " " }).hasPrefix("\(sessionCookie)=")
            }
        }
    }
}
