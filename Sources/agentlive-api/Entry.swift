import AgentLiveFastCGI
import ArgumentParser

/// The entry point. A worker its supervisor spawned starts without ArgumentParser:
/// its command line is fixed (`WorkerCommandLine`), and parsing it with
/// ArgumentParser left that library, and the parts of Foundation and of the
/// runtime's reflection it uses, resident in every idle worker (1.3 MiB of a
/// worker's 21 MiB RSS). Anything else goes to `AgentLiveAPICommand`, whose `serve`
/// also accepts a worker's command line.
@main
enum Entry {
    static func main() {
        if let worker = WorkerCommandLine(parsing: CommandLine.arguments, command: Serve.workerCommand) {
            let environment = Environment()
            Serve.serveAsWorker(environment: environment, logger: environment.logger("agentlive.api"),
                                scoreboard: worker.scoreboard)
            return
        }
        AgentLiveAPICommand.main()
    }
}
