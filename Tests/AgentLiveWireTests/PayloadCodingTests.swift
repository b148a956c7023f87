import AgentLiveWire
import Foundation
import Testing

@Suite struct PayloadCodingTests {
    @Test func taskMessageUsesTheContractsJSONNames() throws {
        let message = TaskMessagePayload(
            taskID: "t", issueID: "i", seq: 7, type: .toolResult, tool: "Bash", callID: "c1",
            output: "ok", isError: true)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(message)) as! [String: Any]
        #expect(Set(object.keys) == ["task_id", "issue_id", "seq", "type", "tool", "call_id", "output", "is_error"])
        #expect(object["type"] as? String == "tool_result")
        #expect(object["seq"] as? Int == 7)
    }

    @Test func unknownMessageTypesDecodeSoTheAPICanRejectThemByName() throws {
        let message = try JSONDecoder().decode(
            TaskMessagePayload.self, from: Data(#"{"seq":1,"type":"telepathy"}"#.utf8))
        #expect(message.type.rawValue == "telepathy")
        #expect(!TaskMessageType.known.contains(message.type))
    }

    @Test func toolInputKeepsAnyJSONIncludingNulls() throws {
        let json = #"{"seq":2,"type":"tool_use","tool":"Edit","input":{"path":"a.swift","n":[1,2.5,null,true],"o":{}}}"#
        let message = try JSONDecoder().decode(TaskMessagePayload.self, from: Data(json.utf8))
        #expect(message.input == .object([
            "path": .string("a.swift"), "n": .array([.number(1), .number(2.5), .null, .bool(true)]), "o": .object([:]),
        ]))
        let again = try JSONDecoder().decode(TaskMessagePayload.self, from: JSONEncoder().encode(message))
        #expect(again == message)
    }

    @Test func heartbeatAcceptsTaskIdsOrACount() throws {
        let ids = try JSONDecoder().decode(
            HeartbeatPayload.self, from: Data(#"{"daemon_id":"d","agent_id":"a","current_tasks":["x","y"]}"#.utf8))
        #expect(ids.currentTasks == .ids(["x", "y"]))
        let count = try JSONDecoder().decode(
            HeartbeatPayload.self, from: Data(#"{"daemon_id":"d","agent_id":"a","current_tasks":3}"#.utf8))
        #expect(count.currentTasks == .count(3))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                HeartbeatPayload.self, from: Data(#"{"daemon_id":"d","agent_id":"a","current_tasks":"3"}"#.utf8))
        }
    }

    @Test func frameAndErrorBodyShapes() throws {
        let frame = Message(type: EventType.taskProgress, payload: TaskProgressPayload(taskID: "t", summary: "s", step: 1, total: 2))
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(frame)) as! [String: Any]
        #expect(object["type"] as? String == "task:progress")
        #expect((object["payload"] as? [String: Any])?["summary"] as? String == "s")

        let error = try JSONSerialization.jsonObject(
            with: JSONEncoder().encode(ErrorBody(code: "task_not_active", message: "m"))) as! [String: Any]
        #expect((error["error"] as? [String: String]) == ["code": "task_not_active", "message": "m"])
    }
}
