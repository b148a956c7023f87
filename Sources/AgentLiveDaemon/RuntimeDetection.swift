import AgentLiveWire
import Subprocess

/// The runtimes this machine offers, as the daemon registers them: Claude Code
/// and Codex when their CLIs are on PATH (with their versions), and the
/// built-in `command` and `replay`.
public enum RuntimeDetection {
    public static func detect() async -> [RuntimeInfo] {
        var runtimes: [RuntimeInfo] = []
        for tool in ["claude", "codex"] {
            if let version = await version(of: tool) {
                runtimes.append(RuntimeInfo(type: tool, version: version, status: "ready"))
            } else {
                runtimes.append(RuntimeInfo(type: tool, version: "", status: "not_installed"))
            }
        }
        runtimes.append(RuntimeInfo(type: "command", version: "builtin", status: "ready"))
        runtimes.append(RuntimeInfo(type: "replay", version: "builtin", status: "ready"))
        return runtimes
    }

    /// `tool --version`, first line; nil when the tool is missing or fails.
    static func version(of tool: String) async -> String? {
        guard let result = try? await Subprocess.run(
            .name(tool), arguments: ["--version"], output: .string(limit: 4096), error: .discarded),
            case .exited(0) = result.terminationStatus
        else { return nil }
        return result.standardOutput.split(whereSeparator: \.isNewline).first.map(String.init)
    }

    /// Whether Claude Code knows `--include-partial-messages` (newer versions).
    public static func claudeSupportsPartialMessages() async -> Bool {
        guard let result = try? await Subprocess.run(
            .name("claude"), arguments: ["--help"], output: .string(limit: 1 << 20), error: .discarded)
        else { return false }
        return result.standardOutput.contains("--include-partial-messages")
    }
}
