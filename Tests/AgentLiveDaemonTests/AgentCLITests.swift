@testable import AgentLiveDaemon
import AgentLiveWire
import Foundation
import Testing

@Suite struct AgentCLITests {
    let task = TaskDispatchPayload(taskID: "t", issueID: "i", title: "Fix it", description: "", resumeSessionID: "s-1")

    @Test func optionsAndTheResumeFlagGoAfterTheSubcommandAndBeforeThePrompt() {
        let options = AgentCLI.Options(model: "m", extraArguments: ["--x"])
        #expect(AgentCLI.opencode.runtime(options).arguments(task)
            == ["run", "--session", "s-1", "--model", "m", "--x", "--format", "json", "--thinking", "Fix it"])
        #expect(AgentCLI.codex.runtime(options).arguments(task).prefix(6) == ["exec", "resume", "s-1", "--model", "m", "--x"])
        #expect(AgentCLI.gemini.runtime(options).arguments(task)
            == ["--resume", "s-1", "--model", "m", "--x", "-p", "Fix it", "--output-format", "stream-json"])
        #expect(AgentCLI.claude.runtime(options).arguments(task).prefix(2) == ["--resume", "s-1"])
    }

    @Test func theProgramCanBeReplaced() {
        #expect(AgentCLI.gemini.runtime(AgentCLI.Options(command: "/opt/gemini/bin/gemini")).executable == "/opt/gemini/bin/gemini")
        #expect(AgentCLI.gemini.runtime().executable == "gemini")
    }

    @Test func aMissingProgramIsExplainedWithWhatToInstallAndTheOtherRuntimes() throws {
        let message = try #require(AgentCLI.gemini.missing(command: "/nonexistent/gemini"))
        #expect(message.contains("npm install -g @google/gemini-cli"))
        #expect(message.contains("--runtime (claude, codex, opencode, command, replay)"))
        #expect(AgentCLI.gemini.missing(command: "/bin/sh") == nil)
    }

    @Test func programsAreFoundOnPathButNotFolders() {
        #expect(AgentCLI.locate("sh", path: "/nonexistent:/bin") == "/bin/sh")
        #expect(AgentCLI.locate("bin", path: "/") == nil)
        #expect(AgentCLI.locate("sh", path: "") == nil)
    }
}
