import AgentLiveFuzzSupport

@main
struct DaemonFuzzMain {
    static func main() {
        fuzzMain(name: "agentlive-daemon-fuzz", builder: "`deploy/dev/fuzz.sh daemon`") { data, size in
            fuzz(data, size)
        }
    }
}
