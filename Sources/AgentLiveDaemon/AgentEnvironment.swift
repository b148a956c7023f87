import AgentLiveWire
import Foundation

/// The environment an agent runs with: the daemon's own, without the daemon's
/// settings (every inherited `AGENTLIVE_*` variable: its token, the token file's
/// path, the server), plus the task in `AGENTLIVE_TASK_*` variables. The agent
/// runs whatever the issue asks; it must not hold the daemon's credentials.
enum AgentEnvironment {
    static func variables(inheriting inherited: [String: String], for task: TaskDispatchPayload) -> [String: String] {
        var variables = inherited.filter { !$0.key.hasPrefix("AGENTLIVE_") }
        let task = [
            "AGENTLIVE_TASK_ID": task.taskID, "AGENTLIVE_ISSUE_ID": task.issueID,
            "AGENTLIVE_TASK_TITLE": task.title, "AGENTLIVE_TASK_DESCRIPTION": task.description,
        ]
        // An environment string ends at NUL: the server's text must not cut it short.
        for (name, value) in task { variables[name] = value.replacingOccurrences(of: "\u{0}", with: "") }
        return variables
    }
}
