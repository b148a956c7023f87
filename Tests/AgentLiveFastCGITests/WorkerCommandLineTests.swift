import AgentLiveFastCGI
import Testing

@Suite struct WorkerCommandLineTests {
    let command = ["agentlive-api: worker", "serve", "--workers", "1"]

    @Test func whatTheSupervisorWritesIsReadBack() {
        for line in [WorkerCommandLine(command: command), WorkerCommandLine(command: command, scoreboard: .init(fd: 7, slot: 12))] {
            #expect(WorkerCommandLine(parsing: line.arguments, command: command) == line)
        }
        #expect(WorkerCommandLine(command: command, scoreboard: .init(fd: 7, slot: 12)).arguments
            == command + ["--scoreboard-fd", "7", "--scoreboard-slot", "12"])
    }

    @Test(arguments: [
        ["agentlive-api", "serve", "--workers", "1"],  // not the worker's title
        ["agentlive-api: worker", "serve", "--workers", "2"],
        ["agentlive-api: worker", "serve"],
        ["agentlive-api: worker", "serve", "--workers", "1", "--listen", "/run/x.sock"],
        ["agentlive-api: worker", "serve", "--workers", "1", "--scoreboard-fd", "7"],
        ["agentlive-api: worker", "serve", "--workers", "1", "--scoreboard-slot", "1", "--scoreboard-fd", "7"],
        ["agentlive-api: worker", "serve", "--workers", "1", "--scoreboard-fd", "-1", "--scoreboard-slot", "1"],
        ["agentlive-api: worker", "serve", "--workers", "1", "--scoreboard-fd", "7", "--scoreboard-slot", "x"],
    ])
    func anyOtherCommandLineIsLeftToTheArgumentParser(arguments: [String]) {
        #expect(WorkerCommandLine(parsing: arguments, command: command) == nil)
    }
}
