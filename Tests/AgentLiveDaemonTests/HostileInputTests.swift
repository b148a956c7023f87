@testable import AgentLiveDaemon
import AgentLiveWire
import Testing

@Suite struct HostileInputTests {
    @Test(arguments: [
        #"{"type":"tool_result","tool_id":7,"status":["error"],"output":{"a":1}}"#,
        #"{"type":"result","status":"success","stats":{"input_tokens":-1e400,"output_tokens":"many"}}"#,
        #"{"type":"message","role":"assistant","content":null,"delta":"yes"}"#,
        #"{"type":"init","session_id":{"id":"x"},"model":5}"#,
        "not json", "", "[1,2]", #"{"type":null}"#,
    ])
    func geminiOutputOfTheWrongShapeIsReadAsFarAsItMakesSense(line: String) {
        var parser = GeminiStreamParser()
        _ = parser.parse(line: line)
        #expect(!parser.finish().isEmpty || line.contains("result"))
    }

    @Test(arguments: [
        #"{"type":"tool_use","sessionID":"s","part":{"state":"done","callID":3}}"#,
        #"{"type":"step_finish","sessionID":"","part":{"tokens":[],"cost":"free"}}"#,
        #"{"type":"error","sessionID":"s","error":"boom"}"#,
        #"{"type":"text","sessionID":5,"part":{"text":["a"]}}"#,
    ])
    func opencodeOutputOfTheWrongShapeIsReadAsFarAsItMakesSense(line: String) {
        var parser = OpenCodeEventParser()
        let events = parser.parse(line: line)
        #expect(events.count <= 3)
        #expect(parser.finish().count == 1)
    }
}
