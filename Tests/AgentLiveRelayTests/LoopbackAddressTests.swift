import AgentLiveRelay
import Testing

@Suite struct LoopbackAddressTests {
    @Test(arguments: ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"])
    func loopback(_ host: String) {
        #expect(LoopbackAddress.contains(host))
    }

    @Test(arguments: ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "example.com",
                      "127.0.0.1.example.com", "", "127.0.0.1:9081"])
    func notLoopback(_ host: String) {
        #expect(!LoopbackAddress.contains(host))
    }
}
