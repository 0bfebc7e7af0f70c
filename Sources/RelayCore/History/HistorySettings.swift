/// How much per-topic history is kept for clients that reconnect and resume.
public struct HistorySettings: Sendable, Equatable {
    /// What one stored message costs against `maxBytes` on top of its payload bytes.
    public static let entryOverhead = 64
    /// What one topic's stream (epoch, offsets, buffer) costs against `maxBytes`.
    public static let streamOverhead = 256

    /// Messages kept per topic; `0` turns history off.
    public var size: Int
    /// Messages older than this are gone, and streams idle this long are forgotten; `.zero` = no age limit.
    public var ttl: Duration
    /// Cap over all topics, counting payload bytes plus `entryOverhead` per message and
    /// `streamOverhead` per topic; the globally oldest messages are dropped first.
    public var maxBytes: Int

    /// Whether any history is kept at all.
    public var isEnabled: Bool { self.size > 0 }

    public init(size: Int = 0, ttl: Duration = .seconds(120), maxBytes: Int = 64 << 20) {
        self.size = size
        self.ttl = ttl
        self.maxBytes = maxBytes
    }
}
