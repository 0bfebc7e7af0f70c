/// The id of one registered client: 128 random bits, written as 32 lowercase hex characters.
///
/// The id is a capability: whoever holds it can subscribe as that client, so it comes from the
/// system's CSPRNG (`SystemRandomNumberGenerator`, `getrandom(2)` on Linux) and is never logged in full.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A fresh id from the system's cryptographically secure generator.
    public static func random() -> ClientID {
        var generator = SystemRandomNumberGenerator()
        return ClientID(high: generator.next(), low: generator.next())
    }

    /// Parses exactly 32 lowercase hex characters; anything else is not an id.
    public init?(_ text: some StringProtocol) {
        let utf8 = Array(text.utf8)
        guard utf8.count == 32 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in utf8.enumerated() {
            let nibble: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(byte - UInt8(ascii: "a") + 10)
            default: return nil
            }
            if index < 16 {
                high = high << 4 | nibble
            } else {
                low = low << 4 | nibble
            }
        }
        self.init(high: high, low: low)
    }

    public var description: String {
        Self.hex(self.high) + Self.hex(self.low)
    }

    /// The first 8 characters and an ellipsis: enough to correlate log lines, useless as a capability.
    public var masked: String {
        String(self.description.prefix(8)) + "…"
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
