import AgentLiveCredentials
import HTTPTypes
import Testing

@Suite struct CredentialsTests {
    @Test func parsesTokensOfEachKind() throws {
        let token = try #require(PresentedToken("ald_0123456789abcdef0123456789ABCDEF_" + String(repeating: "0f", count: 24)))
        #expect(token.kind == .daemon)
        #expect(token.id == "01234567-89ab-cdef-0123-456789abcdef")
        #expect(PresentedToken("alx_0123456789abcdef0123456789abcdef_" + String(repeating: "0f", count: 24)) == nil)
        #expect(PresentedToken("alu_0123456789abcdef0123456789abcdef_" + String(repeating: "0f", count: 23)) == nil)
        #expect(PresentedToken("alu_0123456789abcdef0123456789abcdeg_" + String(repeating: "0f", count: 24)) == nil)
        #expect(PresentedToken("") == nil)
    }

    @Test func headerWinsOverCookieAndMalformedHeaderIsRejected() throws {
        let session = "als_" + String(repeating: "a", count: 32) + "_" + String(repeating: "b", count: 48)
        var fields = HTTPFields()
        fields[.cookie] = "theme=dark; agentlive_session=\(session)"
        #expect(try PresentedToken.from(fields)?.get().kind == .session)
        fields[.authorization] = "Basic abc"
        #expect(throws: MalformedCredentials()) { try PresentedToken.from(fields)?.get() }
        #expect(PresentedToken.from(HTTPFields()) == nil)
    }

    @Test func hashComparisonNeedsTheExactToken() {
        let token = PresentedToken("alu_" + String(repeating: "1", count: 32) + "_" + String(repeating: "2", count: 48))!
        // SHA-256 of the token above, computed with sha256sum.
        let hash = "4468a18b5b3c37ea6eff557c9dbf1461a2e4c33829318828ee824bd3a5642fcd"
        #expect(token.matches(storedHashHex: hash))
        #expect(!token.matches(storedHashHex: String(hash.dropLast()) + "e"))
        #expect(!token.matches(storedHashHex: "zz"))
    }
}
