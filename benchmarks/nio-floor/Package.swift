// swift-tools-version:6.0
// The floor under the gateway's addressed delivery: the least a SwiftNIO server with NIO's own
// HTTP decoder, encoder and WebSocket upgrader can do per publish addressed to one user.
// Not part of the gateway; see benchmarks/JOURNAL.md ("The addressed floor").
import PackageDescription

let package = Package(
    name: "nio-floor",
    dependencies: [.package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2")],
    targets: [
        .executableTarget(
            name: "nio-floor",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        )
    ]
)
