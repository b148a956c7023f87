import CFastCGI

#if canImport(Glibc)
import Glibc
#endif

/// What ps, top and pgrep show for a process, set as nginx and php-fpm do:
/// the command line is rewritten in place (`ps -f`, `pgrep -f`) and the
/// process name (`ps -o comm`, top, `pgrep NAME`) is set with prctl.
///
/// Read `CommandLine.arguments` before: the rewrite overwrites the strings
/// argv points to.
public enum ProcessTitle {
    public static func set(_ title: String, name: String) {
        _ = agentlive_set_comm(name)
        guard let start = agentlive_argv_start() else { return }
        let capacity = commandLineLength()
        guard capacity > 0 else { return }
        let bytes = block(title, capacity: capacity)
        bytes.withUnsafeBytes { UnsafeMutableRawPointer(start).copyMemory(from: $0.baseAddress!, byteCount: capacity) }
    }

    /// The block of `capacity` bytes that replaces the argument strings: the
    /// title, cut to fit, then NULs (the kernel then reports the title alone).
    static func block(_ title: String, capacity: Int) -> [UInt8] {
        guard capacity > 0 else { return [] }
        let text = Array(title.utf8.prefix(capacity - 1))
        return text + [UInt8](repeating: 0, count: capacity - text.count)
    }

    /// The size of the argument strings, NULs included: what the kernel reports
    /// as /proc/self/cmdline before any rewrite.
    private static func commandLineLength() -> Int {
        let fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return total }
            total += count
        }
    }
}
