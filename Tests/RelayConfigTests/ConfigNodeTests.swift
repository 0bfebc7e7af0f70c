import RelayConfig
import Testing

@Suite struct ConfigNodeTests {
    @Test func scalarsAndLists() throws {
        let options = try filterOptions(
            """
            count: 42
            flag: yes
            off: False
            ratio: 0.25
            word: hello
            number_as_string: 8000
            names: [a, b, c]
            """)
        #expect(try options.required("count").int() == 42)
        #expect(try options.required("flag").bool() == true)
        #expect(try options.required("off").bool() == false)
        #expect(try options.required("ratio").double() == 0.25)
        #expect(try options.required("word").string() == "hello")
        #expect(try options.required("number_as_string").string() == "8000")
        #expect(try options.required("names").stringList() == ["a", "b", "c"])
        #expect(options.keys == ["type", "count", "flag", "off", "ratio", "word", "number_as_string", "names"])
        #expect(options.entries().map(\.key) == options.keys)
    }

    @Test func locationsAndKeyPaths() throws {
        let options = try filterOptions(
            """
            list:
              - x
              - {inner: 1}
            """)
        let list = try options.required("list")
        #expect(list.location == ConfigLocation(file: testFile, keyPath: "filters.f.list", line: 4))
        let items = try list.list()
        #expect(items[0].location == ConfigLocation(file: testFile, keyPath: "filters.f.list[0]", line: 5))
        let inner = try items[1].mapping().required("inner")
        #expect(inner.location == ConfigLocation(file: testFile, keyPath: "filters.f.list[1].inner", line: 6))
    }

    @Test func emptyValuesCountAsAbsent() throws {
        let options = try filterOptions(
            """
            blank:
            tilde: ~
            quoted: ""
            """)
        #expect(options.node("blank") == nil)
        #expect(options.node("tilde") == nil)
        #expect(try options.node("quoted")?.string() == "")
        #expect(options.node("missing") == nil)
        let error = try #require(throws: ConfigError.self) { try options.required("blank") }
        #expect(error.description == "relay.yaml:4: filters.f.blank: required key has no value")
    }

    @Test func typeMismatches() throws {
        let options = try filterOptions(
            """
            word: abc
            list: [1]
            map: {a: 1}
            """)
        let word = try options.required("word")
        #expect(try #require(throws: ConfigError.self) { try word.int() }.message == "expected an integer, got \"abc\"")
        #expect(try #require(throws: ConfigError.self) { try word.bool() }.message == "expected true or false, got \"abc\"")
        #expect(try #require(throws: ConfigError.self) { try word.double() }.message == "expected a number, got \"abc\"")
        #expect(try #require(throws: ConfigError.self) { try word.list() }.message == "expected a list, got \"abc\"")
        #expect(try #require(throws: ConfigError.self) { try word.mapping() }.message == "expected a mapping, got \"abc\"")
        let list = try options.required("list")
        #expect(try #require(throws: ConfigError.self) { try list.string() }.message == "expected a string, got a list")
        let map = try options.required("map")
        #expect(try #require(throws: ConfigError.self) { try map.stringList() }.message == "expected a list, got a mapping")
    }

    @Test func missingKeyAndUnknownKey() throws {
        let options = try filterOptions(
            """
            rate: 20/s
            brust: 40
            """)
        let missing = try #require(throws: ConfigError.self) { try options.required("burst") }
        #expect(missing.description == "relay.yaml:2: filters.f: missing required key \"burst\"")
        let unknown = try #require(throws: ConfigError.self) {
            try options.rejectUnknownKeys(allowed: ["type", "rate", "burst"])
        }
        #expect(unknown.description == "relay.yaml:5: filters.f: unknown key \"brust\" (allowed: type, rate, burst)")
        try options.rejectUnknownKeys(allowed: ["type", "rate", "brust"])
    }

    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("30s", .seconds(30)), ("10m", .seconds(600)),
        ("2h", .seconds(7_200)), ("1d", .seconds(86_400)), ("0", .zero), ("45", .seconds(45)),
    ])
    func durations(text: String, expected: Duration) throws {
        #expect(try filterOptions("value: \(text)").required("value").duration() == expected)
    }

    @Test(arguments: ["abc", "10x", "-5s", "1.5h", "s", "10 minutes"])
    func badDurations(text: String) throws {
        let node = try filterOptions("value: \(text)").required("value")
        let error = try #require(throws: ConfigError.self) { try node.duration() }
        #expect(error.message.contains("250ms, 30s, 10m, 2h, 1d"))
        #expect(error.message.hasSuffix("got \"\(text)\""))
    }

    @Test(arguments: [
        ("1048576", 1_048_576), ("512B", 512), ("512KB", 512_000), ("64KiB", 65_536), ("1MiB", 1_048_576),
        ("2MB", 2_000_000), ("1GiB", 1_073_741_824), ("1gb", 1_000_000_000), ("64 KiB", 65_536), ("1TiB", 1 << 40),
    ])
    func byteCounts(text: String, expected: Int) throws {
        #expect(try filterOptions("value: \(text)").required("value").byteCount() == expected)
    }

    @Test(arguments: ["abc", "12XB", "-1", "1.5MiB", "99999999999999999999"])
    func badByteCounts(text: String) throws {
        let node = try filterOptions("value: \(text)").required("value")
        let error = try #require(throws: ConfigError.self) { try node.byteCount() }
        #expect(error.message.hasPrefix("expected a size such as 1048576, 512KB, 64KiB, 1MiB or 1GiB"))
    }
}
