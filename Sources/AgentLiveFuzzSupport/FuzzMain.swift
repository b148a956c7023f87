import Foundation

// What the two fuzz executables (agentlive-fuzz, agentlive-daemon-fuzz) share: their
// main. Built with `-sanitize=fuzzer -DFUZZING` (deploy/dev/fuzz.sh passes the flags
// to every module), it hands over to libFuzzer; a plain build replays input files
// (`deploy/dev/stack test` replays the corpora that way).

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt
#endif

/// A fuzz target: one input, as libFuzzer's `LLVMFuzzerTestOneInput` takes it.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

/// The main of a fuzz executable named `name`. Under FUZZING: libFuzzer's driver,
/// which parses the usual -runs/-max_total_time flags (SwiftPM names the executable's
/// own function `main`, so libFuzzer's main is not linked). Otherwise: each file named
/// in the arguments (directories: each file in them, sorted) through `target` once;
/// `each` is called with a file's path before it runs. `builder` says in the usage
/// line how to build the libFuzzer target.
public func fuzzMain(name: String, builder: String, each: (String) -> Void = { _ in },
                     _ target: FuzzTarget) -> Never {
    #if FUZZING
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, target))
    #else
    let paths = Array(CommandLine.arguments.dropFirst())
    guard !paths.isEmpty, !paths.contains(where: { $0 == "-h" || $0 == "--help" }) else {
        print("usage: \(name) FILE|DIR...  (replays inputs; \(builder) builds the libFuzzer target)")
        exit(paths.isEmpty ? 2 : 0)
    }
    var count = 0
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            FileHandle.standardError.write(Data("\(name): no such file: \(path)\n".utf8))
            exit(2)
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
            : [path]
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            each(file)
            let bytes = [UInt8](data)
            bytes.withUnsafeBufferPointer { buffer in
                _ = target(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!, buffer.count)
            }
            count += 1
        }
    }
    print("\(name): \(count) inputs replayed, no failure")
    exit(0)
    #endif
}
