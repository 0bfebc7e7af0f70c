import Foundation
import NIOCore

@testable import RelayGateway

/// FlatJSONObject against JSONDecoder: whatever the fast reader accepts as a publish body,
/// JSONDecoder reads the same way.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlatJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let buffer = ByteBuffer(bytes: bytes)
    guard let object = FlatJSONObject(buffer.readableBytesView), let fast = PublishHandler.Body(object) else { return 0 }
    guard let slow = try? JSONDecoder().decode(PublishHandler.Body.self, from: Data(bytes)) else {
        preconditionFailure("FlatJSONObject read a body JSONDecoder refuses: \(Array(bytes))")
    }
    precondition(
        fast.topic == slow.topic && fast.message == slow.message && fast.user_id == slow.user_id,
        "FlatJSONObject and JSONDecoder disagree on \(Array(bytes))"
    )
    return 0
}
