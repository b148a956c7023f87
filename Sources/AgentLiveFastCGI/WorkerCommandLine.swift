/// The command line a supervisor gives each worker: `command` (argv[0] is the
/// worker's process title, then what the executable needs to serve as one worker),
/// and with metrics the scoreboard's descriptor and the worker's slot. `Supervisor`
/// writes it; the worker reads it back with `init(parsing:command:)`, without an
/// argument parser (one left resident in every idle worker costs RSS).
public struct WorkerCommandLine: Equatable, Sendable {
    /// The scoreboard's descriptor (inherited) and the worker's slot in it.
    public struct Scoreboard: Equatable, Sendable {
        public var fd: Int32
        public var slot: Int

        public init(fd: Int32, slot: Int) {
            (self.fd, self.slot) = (fd, slot)
        }
    }

    public var command: [String]
    public var scoreboard: Scoreboard?

    public init(command: [String], scoreboard: Scoreboard? = nil) {
        (self.command, self.scoreboard) = (command, scoreboard)
    }

    public var arguments: [String] {
        guard let scoreboard else { return command }
        return command + ["--scoreboard-fd", String(scoreboard.fd), "--scoreboard-slot", String(scoreboard.slot)]
    }

    /// What `arguments` made for `command`; nil for anything else (which then goes to
    /// the executable's own argument parser).
    public init?(parsing arguments: [String], command: [String]) {
        guard arguments.starts(with: command) else { return nil }
        let rest = arguments.dropFirst(command.count)
        if rest.isEmpty {
            self.init(command: command)
            return
        }
        let options = Array(rest)
        guard options.count == 4, options[0] == "--scoreboard-fd", options[2] == "--scoreboard-slot",
            let fd = Int32(options[1]), fd >= 0, let slot = Int(options[3]), slot >= 0
        else { return nil }
        self.init(command: command, scoreboard: Scoreboard(fd: fd, slot: slot))
    }
}
