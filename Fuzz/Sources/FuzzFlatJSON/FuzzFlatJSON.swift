import Foundation
import NIOCore

@testable import RelayGateway

/// The publish body's readers against JSONDecoder: whatever FlatJSONObject or the publish body
/// reader accepts, JSONDecoder reads the same way.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlatJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let buffer = ByteBuffer(bytes: bytes)
    let flat = FlatJSONObject(buffer.readableBytesView).flatMap(PublishHandler.Item.init)
    let direct = PublishHandler.Item(body: buffer)
    guard flat != nil || direct != nil else { return 0 }
    guard let slow = try? JSONDecoder().decode(PublishHandler.Item.self, from: Data(bytes)) else {
        preconditionFailure("a fast reader read a body JSONDecoder refuses: \(Array(bytes))")
    }
    for fast in [flat, direct].compactMap({ $0 }) {
        precondition(
            fast.topic == slow.topic && fast.message == slow.message && fast.user_id == slow.user_id && fast.id == slow.id,
            "a fast reader and JSONDecoder disagree on \(Array(bytes))"
        )
    }
    return 0
}
