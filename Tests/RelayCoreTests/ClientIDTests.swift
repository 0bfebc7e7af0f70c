import Testing

@testable import RelayCore

@Suite("ClientID")
struct ClientIDTests {
    private static let hexDigits = Set("0123456789abcdef")

    @Test func randomIDsAre32LowercaseHex() {
        for _ in 0..<1_000 {
            let text = ClientID.random().description
            #expect(text.count == 32)
            #expect(text.utf8.count == 32)
            #expect(text.allSatisfy { Self.hexDigits.contains($0) }, "not lowercase hex: \(text)")
        }
    }

    @Test func randomIDsAreDistinct() {
        let draws = 10_000
        let ids = Set((0..<draws).map { _ in ClientID.random() })
        #expect(ids.count == draws)
        let texts = Set(ids.map(\.description))
        #expect(texts.count == draws)
    }

    @Test func randomIDsUseBothHalves() {
        // 128 random bits: over many draws neither half is stuck at zero.
        let ids = (0..<100).map { _ in ClientID.random() }
        #expect(ids.contains { $0.high != 0 })
        #expect(ids.contains { $0.low != 0 })
        #expect(Set(ids.map(\.high)).count > 1)
        #expect(Set(ids.map(\.low)).count > 1)
    }

    @Test func parseRoundTripsRandomIDs() throws {
        for _ in 0..<1_000 {
            let id = ClientID.random()
            let parsed = try #require(ClientID(id.description))
            #expect(parsed == id)
            #expect(parsed.description == id.description)
        }
    }

    @Test func parseRoundTripsKnownValues() throws {
        let zero = try #require(ClientID("00000000000000000000000000000000"))
        #expect(zero == ClientID(high: 0, low: 0))
        #expect(zero.description == "00000000000000000000000000000000")

        let max = try #require(ClientID("ffffffffffffffffffffffffffffffff"))
        #expect(max == ClientID(high: .max, low: .max))

        let mixed = try #require(ClientID("0123456789abcdef00000000000000ff"))
        #expect(mixed.high == 0x0123_4567_89ab_cdef)
        #expect(mixed.low == 0xff)
        #expect(mixed.description == "0123456789abcdef00000000000000ff")

        // Leading zeros are kept in both halves.
        #expect(ClientID(high: 1, low: 2).description == "00000000000000010000000000000002")
    }

    @Test func parseAcceptsSubstrings() throws {
        let text = "/ws/0123456789abcdef0123456789abcdef"
        let parsed = try #require(ClientID(text.dropFirst(4)))
        #expect(parsed.description == "0123456789abcdef0123456789abcdef")
    }

    @Test(arguments: [
        "",
        "0",
        "0123456789abcdef0123456789abcde",  // 31
        "0123456789abcdef0123456789abcdef0",  // 33
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ])
    func parseRejectsWrongLength(_ text: String) {
        #expect(ClientID(text) == nil)
    }

    @Test(arguments: [
        "0123456789ABCDEF0123456789abcdef",
        "A123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdeF",
    ])
    func parseRejectsUppercase(_ text: String) {
        #expect(ClientID(text) == nil)
    }

    @Test(arguments: [
        "0123456789abcdeg0123456789abcdef",  // g
        "0123456789abcdef0123456789abcde ",  // space
        " 123456789abcdef0123456789abcdef",
        "0x23456789abcdef0123456789abcdef",
        "-123456789abcdef0123456789abcdef",
        "+123456789abcdef0123456789abcdef",
        "0123456789abcdef/123456789abcdef",
        "0123456789abcdef:123456789abcdef",  // ':' follows '9' in ASCII
        "0123456789abcdef`123456789abcdef",  // '`' precedes 'a'
        "0123456789abcdef0123456789abcde\n",
        "0123456789abcdef0123456789abcd\u{e9}",  // 31 chars, 32 UTF-8 bytes
    ])
    func parseRejectsNonHex(_ text: String) {
        #expect(ClientID(text) == nil)
    }

    @Test func maskedShowsOnlyEightCharacters() throws {
        let id = try #require(ClientID("0123456789abcdeffedcba9876543210"))
        #expect(id.masked == "01234567…")
        #expect(!id.masked.contains("89abcdef"))

        for _ in 0..<100 {
            let random = ClientID.random()
            let masked = random.masked
            #expect(masked.hasPrefix(String(random.description.prefix(8))))
            let visibleHex = masked.filter { Self.hexDigits.contains($0) }
            #expect(visibleHex.count == 8)
            #expect(!masked.contains(random.description))
            #expect(masked.count == 9)
        }
    }

    @Test func equalityAndHashingFollowBits() {
        let a = ClientID(high: 1, low: 2)
        #expect(a == ClientID(high: 1, low: 2))
        #expect(a != ClientID(high: 2, low: 1))
        #expect(Set([a, ClientID(high: 1, low: 2), ClientID(high: 2, low: 1)]).count == 2)
    }
}
