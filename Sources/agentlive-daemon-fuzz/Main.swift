import Foundation

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
#endif

@main
struct DaemonFuzzMain {
    static func main() {
        #if FUZZING
        // SwiftPM names this function `main`, so libFuzzer's own main is not linked:
        // hand over to its driver, which parses the usual -runs/-max_total_time flags.
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, { data, size in fuzz(data, size) }))
        #else
        replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    /// Runs each file (directories: each file in them) through the target once.
    static func replay(_ paths: [String]) {
        guard !paths.isEmpty, !paths.contains(where: { $0 == "-h" || $0 == "--help" }) else {
            print("usage: agentlive-daemon-fuzz FILE|DIR...  (replays inputs; `deploy/dev/fuzz daemon` builds the libFuzzer target)")
            exit(paths.isEmpty ? 2 : 0)
        }
        var count = 0
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("agentlive-daemon-fuzz: no such file: \(path)\n".utf8))
                exit(2)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                let bytes = [UInt8](data)
                bytes.withUnsafeBufferPointer { buffer in
                    _ = fuzz(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
                }
                count += 1
            }
        }
        print("agentlive-daemon-fuzz: \(count) inputs replayed, no failure")
    }
}
