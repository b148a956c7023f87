import AgentLiveWire
import Foundation

extension APIError {
    static let messageTooLarge = APIError(
        .contentTooLarge, "message_too_large", "A message is larger than the configured limit.")
}

extension Validate {
    /// A body may repeat the task id of its path; it must not name another task.
    static func sameTask(_ given: String?, _ task: String) throws(APIError) {
        guard let given else { return }
        guard UUID(uuidString: given)?.uuidString.lowercased() == task else {
            throw .invalidValue("Field 'task_id' does not match the task in the path.")
        }
    }
}

/// The checks on a batch of task messages before it reaches the database. The
/// result keeps only the fields the server stores; ids come from the path.
struct MessageValidator {
    var configuration: APIConfiguration
    var taskID: String

    func validate(_ messages: [TaskMessagePayload]) throws(APIError) -> [TaskMessagePayload] {
        guard !messages.isEmpty else { throw .invalidValue("Field 'messages' must not be empty.") }
        guard messages.count <= configuration.maxBatch else {
            throw APIError(.contentTooLarge, "batch_too_large", "At most \(configuration.maxBatch) messages per batch.")
        }
        var seen = Set<Int64>()
        var result: [TaskMessagePayload] = []
        result.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            let field = "messages[\(index)]"
            try Validate.sameTask(message.taskID, taskID)
            guard message.seq > 0 else { throw .invalidValue("Field '\(field).seq' must be at least 1.") }
            guard seen.insert(message.seq).inserted else {
                throw .invalidValue("Field '\(field).seq' repeats seq \(message.seq) within the batch.")
            }
            guard TaskMessageType.known.contains(message.type) else {
                throw .invalidValue("Field '\(field).type' must be text, tool_use, tool_result or error.")
            }
            switch message.type {
            case .text where message.content == nil, .error where message.content == nil:
                throw .invalidField("Missing field '\(field).content'.")
            case .toolUse where message.tool == nil:
                throw .invalidField("Missing field '\(field).tool'.")
            default: break
            }
            for (name, value) in [("content", message.content), ("output", message.output)] {
                try Validate.text(value, field: "\(field).\(name)", maxBytes: configuration.maxContentBytes, tooLarge: .messageTooLarge)
            }
            for (name, value) in [("tool", message.tool), ("call_id", message.callID)] {
                try Validate.text(value, field: "\(field).\(name)", maxBytes: 1000)
            }
            if let input = message.input {
                let size = (try? JSONCoding.encoder.encode(input).count) ?? Int.max
                guard size <= configuration.maxInputBytes else { throw .messageTooLarge }
                if input.containsString(where: { $0.utf8.contains(0) }) {
                    throw .invalidValue("Field '\(field).input' contains a NUL character.")
                }
            }
            var stored = message
            stored.taskID = nil
            stored.issueID = nil
            stored.createdAt = nil
            result.append(stored)
        }
        return result
    }
}
