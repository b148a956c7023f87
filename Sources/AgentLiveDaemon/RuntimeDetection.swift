import AgentLiveWire
import Subprocess
import SystemPackage

/// The runtimes this machine offers, as the daemon registers them: the agent
/// CLIs (Claude Code, Codex, Gemini CLI, opencode) when they are on PATH (with
/// their versions), and the built-in `command` and `replay`.
public enum RuntimeDetection {
    public static func detect() async -> [RuntimeInfo] {
        var runtimes: [RuntimeInfo] = []
        for tool in AgentCLI.allCases.map(\.executable) {
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

    /// One line per agent CLI: its runtime name, path and version, or "not found".
    public static func doctor() async -> [String] {
        var lines: [String] = []
        for cli in AgentCLI.allCases {
            guard let path = AgentCLI.locate(cli.executable) else {
                lines.append("\(cli.rawValue): not found (\(cli.displayName): \(cli.installHint))")
                continue
            }
            lines.append("\(cli.rawValue): \(path) \(await version(of: path) ?? "(version unknown: --version failed)")")
        }
        lines.append("command: builtin")
        lines.append("replay: builtin")
        return lines
    }

    /// `tool --version`, first line; nil when the tool is missing or fails.
    static func version(of tool: String) async -> String? {
        guard let result = try? await Subprocess.run(
            tool.hasPrefix("/") ? .path(FilePath(tool)) : .name(tool), arguments: ["--version"], output: .string(limit: 4096), error: .discarded),
            case .exited(0) = result.terminationStatus
        else { return nil }
        return result.standardOutput.split(whereSeparator: \.isNewline).first.map(String.init)
    }

    /// Whether Claude Code knows `--include-partial-messages` (newer versions).
    public static func claudeSupportsPartialMessages(program: String = "claude") async -> Bool {
        guard let result = try? await Subprocess.run(
            program.hasPrefix("/") ? .path(FilePath(program)) : .name(program), arguments: ["--help"], output: .string(limit: 1 << 20), error: .discarded)
        else { return false }
        return result.standardOutput.contains("--include-partial-messages")
    }
}
