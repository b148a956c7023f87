@testable import AgentLiveRelay
import AgentLiveCredentials
import HTTPTypes
import Testing

@Suite struct UpgradeOriginTests {
    func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: .init(name)!, value: value)) }
        return fields
    }

    let cookie = ("Cookie", "theme=dark; agentlive_session=als_x")

    @Test(arguments: ["http://evil.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1:8080", "file://x"])
    func aCookieUpgradeFromAnotherOriginIsRefused(origin: String) {
        #expect(UpgradeOrigin.refuses(fields([cookie, ("Host", "127.0.0.1:8080"), ("Origin", origin)]), publicOrigin: nil))
    }

    @Test func theRequestsOwnSchemeHostAndPortAreThePagesOrigin() {
        let own = fields([cookie, ("Host", "127.0.0.1:8080"), ("Origin", "http://127.0.0.1:8080")])
        #expect(!UpgradeOrigin.refuses(own, publicOrigin: nil))
        let proxied = fields([cookie, ("Host", "Live.Example:443"), ("X-Forwarded-Proto", "https"), ("Origin", "https://live.example")])
        #expect(!UpgradeOrigin.refuses(proxied, publicOrigin: nil))
        let portLost = fields([cookie, ("Host", "127.0.0.1"), ("Origin", "http://127.0.0.1:8080")])
        #expect(UpgradeOrigin.refuses(portLost, publicOrigin: nil))
    }

    @Test func thePublicOriginWinsOverTheHostHeader() {
        let request = fields([cookie, ("Host", "127.0.0.1:8081"), ("Origin", "https://agentlive.example.com")])
        #expect(!UpgradeOrigin.refuses(request, publicOrigin: "https://agentlive.example.com"))
        let local = fields([cookie, ("Host", "127.0.0.1:8081"), ("Origin", "http://127.0.0.1:8081")])
        #expect(UpgradeOrigin.refuses(local, publicOrigin: "https://agentlive.example.com"))
    }

    @Test func clientsThatAreNotBrowsersOrCarryNoCookieAreNotChecked() {
        let evil = ("Origin", "http://evil.example")
        #expect(!UpgradeOrigin.refuses(fields([cookie, ("Authorization", "Bearer alu_x"), evil]), publicOrigin: nil))
        #expect(!UpgradeOrigin.refuses(fields([("Cookie", "other=1"), evil]), publicOrigin: nil))
        #expect(!UpgradeOrigin.refuses(fields([cookie, ("Host", "a")]), publicOrigin: nil))
    }

    @Test func originsAreNormalized() {
        #expect(PageOrigin.normalized("HTTPS://Agentlive.Example.com:443/path") == "https://agentlive.example.com")
        #expect(PageOrigin.normalized("http://h:8080") == "http://h:8080")
        #expect(PageOrigin.normalized("null") == nil)
        #expect(PageOrigin.normalized("http://user@h") == nil)
    }
}
