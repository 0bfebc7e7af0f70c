#if canImport(Glibc)
import Glibc
#endif

/// Raises the open-file limit to its hard limit: every WebSocket is a descriptor, and the usual
/// soft limit (1024) would cap a gateway, or the bench, far below its capacity.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
