import AgentLiveWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes

public struct APIResponse: Sendable {
    public var head: HTTPResponse
    public var body: [UInt8]
    /// The index in `Router.routes` of the route that answered; nil when no
    /// route matched (404, 405). For metrics.
    public var route: Int?

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        head = HTTPResponse(status: status, headerFields: headerFields)
        self.body = body
    }

    /// A JSON document (already encoded, as the database renders it).
    static func json(_ status: HTTPResponse.Status, _ document: String) -> APIResponse {
        APIResponse(
            status: status,
            headerFields: [.contentType: "application/json", .cacheControl: "no-store"],
            body: Array(document.utf8))
    }

    static func json<Value: Encodable>(_ status: HTTPResponse.Status, encoding value: Value) -> APIResponse {
        let data = (try? JSONCoding.encoder.encode(value)) ?? Data("{}".utf8)
        return APIResponse(
            status: status,
            headerFields: [.contentType: "application/json", .cacheControl: "no-store"],
            body: Array(data))
    }

    static var noContent: APIResponse {
        APIResponse(status: .noContent, headerFields: [.cacheControl: "no-store"])
    }
}

enum JSONCoding {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
