import AgentLiveWire
import HTTPTypes

/// An error the client sees as `{"error": {"code", "message"}}` with `status`.
public struct APIError: Error, Equatable, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra header fields (Allow on a 405).
    public var headerFields: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    var response: APIResponse {
        var response = APIResponse.json(status, encoding: ErrorBody(code: code, message: message))
        response.head.headerFields.append(contentsOf: headerFields)
        return response
    }

    static func invalidField(_ message: String) -> APIError { APIError(.badRequest, "invalid_field", message) }
    static func invalidValue(_ message: String) -> APIError {
        APIError(.unprocessableContent, "invalid_value", message)
    }
    static let unauthorized = APIError(.unauthorized, "unauthorized", "Missing, invalid, expired or revoked credentials.")
    static let databaseUnavailable = APIError(.serviceUnavailable, "database_unavailable", "The database cannot be reached; try again shortly.")
    static let internalError = APIError(.internalServerError, "internal_error", "Something went wrong on our side.")
}
