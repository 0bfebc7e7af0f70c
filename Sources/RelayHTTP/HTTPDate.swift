#if canImport(Glibc)
import Glibc
#endif

/// The `Date` field of every answer (RFC 9110 §6.6.1).
enum HTTPDate {
    private static let clock = SecondClock { seconds in
        var seconds = seconds
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return format(parts)
    }

    static var now: String { self.clock.now }

    /// IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func format(_ parts: tm) -> String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
