import HTTPTypes

/// The CGI-style parameters of one FastCGI request (`NAME=value` strings), and
/// the HTTP request head they describe.
public struct FastCGIParameters: Sendable, Equatable {
    public private(set) var values: [String: String] = [:]

    public init(_ pairs: [String]) {
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
    }

    /// From libfcgi's NULL-terminated `envp` array.
    init(_ envp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        var pairs: [String] = []
        var cursor = envp
        while let entry = cursor?.pointee {
            pairs.append(String(cString: entry))
            cursor = cursor?.successor()
        }
        self.init(pairs)
    }

    public subscript(name: String) -> String? { values[name] }

    /// The client's address as the web server saw it.
    public var remoteAddress: String? { values["REMOTE_ADDR"] }

    /// `host[:port]` as the client addressed it. Debian's fastcgi_params passes
    /// nginx's `$host` as HTTP_HOST, without the port: the port then comes from
    /// SERVER_PORT, left out when it is the scheme's default.
    var authority: String? {
        guard let host = values["HTTP_HOST"], !host.isEmpty else { return nil }
        let hasPort = host.hasPrefix("[") ? host.contains("]:") : host.contains(":")
        guard !hasPort, let port = values["SERVER_PORT"], !port.isEmpty else { return host }
        let https = values["HTTPS"].map { $0.lowercased() == "on" } ?? false
        return port == (https ? "443" : "80") ? host : "\(host):\(port)"
    }

    /// nginx passes request headers as `HTTP_*` parameters, except the body's
    /// type and length; `REQUEST_URI` keeps the raw path and query.
    public var httpRequest: HTTPRequest? {
        guard let methodName = values["REQUEST_METHOD"], let method = HTTPRequest.Method(methodName) else {
            return nil
        }
        var fields = HTTPFields()
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            let headerName: String
            if name == "HTTP_CONTENT_TYPE" || name == "HTTP_CONTENT_LENGTH" {
                continue  // the CGI names below carry them
            } else if name.hasPrefix("HTTP_") {
                headerName = name.dropFirst(5).replacingUnderscores
            } else if name == "CONTENT_TYPE" || name == "CONTENT_LENGTH" {
                headerName = name.replacingUnderscores
            } else {
                continue
            }
            if let fieldName = HTTPField.Name(headerName) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let https = values["HTTPS"].map { $0.lowercased() == "on" } ?? false
        var path = values["REQUEST_URI"] ?? values["DOCUMENT_URI"] ?? "/"
        if path.isEmpty { path = "/" }
        return HTTPRequest(
            method: method, scheme: https ? "https" : "http", authority: authority,
            path: path, headerFields: fields)
    }
}

extension StringProtocol {
    fileprivate var replacingUnderscores: String {
        String(map { $0 == "_" ? "-" : Character($0.lowercased()) })
    }
}

/// `Status: 200 OK` and the header lines. nginx needs the reason phrase, or it
/// answers with a bare `HTTP/1.1 200`.
public struct FastCGIResponseHead: Sendable, Equatable {
    public var bytes: [UInt8]

    public init(_ response: HTTPResponse, contentLength: Int) {
        var text = "Status: \(response.status.code) \(response.status.reasonPhrase)\r\n"
        // HTTPField has already replaced any line break in a value, so no value can
        // start a header line of its own.
        for field in response.headerFields where field.name != .contentLength {
            text += "\(field.name.rawName): \(field.value)\r\n"
        }
        text += "Content-Length: \(contentLength)\r\n\r\n"
        bytes = Array(text.utf8)
    }
}
