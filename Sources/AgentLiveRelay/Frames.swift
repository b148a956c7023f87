import Foundation
import NIOCore

/// Server-to-client frames. Event payloads arrive as JSON text from the database
/// and are wrapped, not re-encoded.
public enum Frames {
    /// `{"type": type, "payload": payloadJSON}`
    public static func event(_ type: String, payloadJSON: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payloadJSON.utf8.count + type.utf8.count + 24)
        buffer.writeString(#"{"type":"#)
        buffer.writeString(json(type))
        buffer.writeString(#","payload":"#)
        buffer.writeString(payloadJSON)
        buffer.writeString("}")
        return buffer
    }

    public static func control(_ type: String, _ payload: [String: String] = [:]) -> ByteBuffer {
        event(type, payloadJSON: json(payload))
    }

    static func json(_ value: some Encodable) -> String {
        String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public static func error(_ code: String, _ message: String, issueID: String? = nil) -> ByteBuffer {
        var payload = ["code": code, "message": message]
        payload["issue_id"] = issueID
        return control("error", payload)
    }

    /// Tells clients that live events may have been missed: fetch active-task and
    /// the messages after the last seq you hold.
    public static let resync = control("resync", ["reason": "the relay may have missed events; catch up over HTTP"])

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()


}
