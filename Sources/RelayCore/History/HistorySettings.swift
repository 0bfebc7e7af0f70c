/// How much per-topic history is kept for clients that reconnect and resume.
public struct HistorySettings: Sendable, Equatable {
    /// What one stored message costs against `maxBytes` on top of its payload bytes: roughly
    /// its real bookkeeping (an 80-byte ring slot with some slack, and a publish-order mark).
    public static let entryOverhead = 128
    /// What one topic's stream costs against `maxBytes`: roughly its real bookkeeping (the
    /// stream object, its smallest ring, its table slot).
    public static let streamOverhead = 512

    /// Messages kept per topic; `0` turns history off.
    public var size: Int
    /// Messages this old are gone, and streams that hold none and were last published to this
    /// long ago are forgotten; `.zero` = no age limit.
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
