import AgentLiveWire
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes

/// Decoding request bodies into the wire types, with errors a client can act on:
/// 415 for another content type, 400 `invalid_json` for what is not a JSON object,
/// 400 `invalid_field` naming the missing or mistyped field.
enum RequestBody {
    static func decode<Value: Decodable>(_ type: Value.Type, from request: APIRequest) throws(APIError) -> Value {
        let body = try jsonObject(from: request)
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body))
        } catch let error as DecodingError {
            throw map(error, body: body)
        } catch {
            throw APIError(.badRequest, "invalid_json", "The request body is not valid JSON.")
        }
    }

    /// The body of a JSON request, checked as far as that it starts as an object.
    static func jsonObject(from request: APIRequest) throws(APIError) -> [UInt8] {
        try checkContentType(request)
        guard let body = request.body, body.first(where: { !isJSONWhitespace($0) }) == UInt8(ascii: "{") else {
            throw APIError(.badRequest, "invalid_json", "The request body must be a JSON object.")
        }
        return body
    }

    /// A body, when there is one, must be JSON (also for endpoints that ignore it).
    static func checkContentType(_ request: APIRequest) throws(APIError) {
        guard let body = request.body, !body.isEmpty else { return }
        guard request.head.headerFields[.contentType].map(mediaType) == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "Send JSON with Content-Type: application/json.")
        }
    }

    /// A Content-Type value without its parameters, surrounding spaces and case
    /// (by hand: Foundation's CharacterSet would link all of Foundation and ICU).
    private static func mediaType(_ value: String) -> String {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        var type = value.prefix { $0 != ";" }.drop(while: isSpace)
        while let last = type.last, isSpace(last) { type.removeLast() }
        return type.lowercased()
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func map(_ error: DecodingError, body: [UInt8]) -> APIError {
        switch error {
        case .keyNotFound(let key, let context):
            return .invalidField("Missing field '\(path(context.codingPath + [key]))'.")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return .invalidField("Field '\(path(context.codingPath))' must be \(describe(type)).")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            // Foundation also reports a number that does not fit the field (1.5 for an
            // integer) this way, without a path: tell the two apart.
            guard JSONScanner.isValid(body) else {
                return APIError(.badRequest, "invalid_json", "The request body is not valid JSON.")
            }
            return .invalidField("A numeric field has a value of the wrong type (an integer is expected).")
        case .dataCorrupted(let context):
            return .invalidField("Field '\(path(context.codingPath))' is invalid.")
        @unknown default:
            return APIError(.badRequest, "invalid_json", "The request body is not valid JSON.")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.reduce(into: "") { result, key in
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += (result.isEmpty ? "" : ".") + key.stringValue
            }
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is TaskMessageType.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is [String].Type: return "an array of strings"
        default: return "of another JSON type"
        }
    }
}

/// Value checks shared by the endpoints (422 unless said otherwise).
enum Validate {
    /// A canonical lowercase UUID, or 422 naming the field.
    static func uuid(_ text: String, field: String) throws(APIError) -> String {
        guard let uuid = UUID(uuidString: text) else {
            throw .invalidValue("Field '\(field)' must be a UUID.")
        }
        return uuid.uuidString.lowercased()
    }

    /// A path id; malformed ids name nothing, so they are 404 like unknown ones.
    static func pathID(_ text: String, notFound: APIError) throws(APIError) -> String {
        guard let uuid = UUID(uuidString: text) else { throw notFound }
        return uuid.uuidString.lowercased()
    }

    /// PostgreSQL text cannot hold NUL; say so instead of failing in the database.
    static func text(_ value: String?, field: String, maxBytes: Int, tooLarge: APIError? = nil) throws(APIError) {
        guard let value else { return }
        if value.utf8.count > maxBytes {
            throw tooLarge ?? .invalidValue("Field '\(field)' is longer than \(maxBytes) bytes.")
        }
        if value.utf8.contains(0) { throw .invalidValue("Field '\(field)' contains a NUL character.") }
    }

    /// An http(s) URL that a page may link to: no other scheme (javascript:, data:),
    /// no spaces or control characters, and a host.
    static func webURL(_ value: String, field: String) throws(APIError) {
        let lower = value.lowercased()
        let rest = lower.hasPrefix("https://") ? lower.dropFirst(8) : lower.hasPrefix("http://") ? lower.dropFirst(7) : nil
        guard let rest, let first = rest.first, first != "/",
            !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F })
        else { throw .invalidValue("Field '\(field)' must be an http or https URL.") }
    }

    static func nonEmpty(_ value: String, field: String) throws(APIError) {
        if value.allSatisfy(\.isWhitespace) { throw .invalidValue("Field '\(field)' must not be empty.") }
    }
}
