import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A text that changes once a second (a timestamp), formatted at most once a second per thread
/// instead of once per use: answers' `Date` fields, log lines' timestamps.
public final class SecondClock: Sendable {
    private final class Cache {
        var second = -1
        var text = ""
    }

    private let format: @Sendable (_ seconds: time_t) -> String
    nonisolated(unsafe) private let cache = ThreadSpecificVariable<Cache>()

    /// - Parameter format: the text for a time in seconds since the epoch.
    public init(_ format: @escaping @Sendable (_ seconds: time_t) -> String) {
        self.format = format
    }

    public var now: String {
        let cache =
            self.cache.currentValue
            ?? {
                let made = Cache()
                self.cache.currentValue = made
                return made
            }()
        let seconds = time(nil)
        if seconds != cache.second {
            cache.second = seconds
            cache.text = self.format(seconds)
        }
        return cache.text
    }
}
