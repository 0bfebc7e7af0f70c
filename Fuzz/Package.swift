// swift-tools-version:6.0
// Coverage-guided fuzzing of the gateway's parsers with libFuzzer (scripts/fuzz builds and runs
// these): the config loader, FlatJSONObject against JSONDecoder, client frames and commands, and
// the HTTP/1.1 request path. Each target is an executable whose `LLVMFuzzerTestOneInput` libFuzzer
// calls; built with `--sanitize fuzzer --sanitize address -Xswiftc -parse-as-library`.
import PackageDescription

let package = Package(
    name: "relay-gateway-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, as the checkout folder it is in may have any name.
        .package(name: "relay-gateway", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .executableTarget(name: "FuzzConfig", dependencies: [.product(name: "RelayGateway", package: "relay-gateway"), .product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "FuzzFlatJSON", dependencies: [.product(name: "RelayGateway", package: "relay-gateway")]),
        .executableTarget(
            name: "FuzzClientFrames",
            dependencies: [
                .product(name: "RelayGateway", package: "relay-gateway"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "FuzzHTTP",
            dependencies: [
                .product(name: "RelayGateway", package: "relay-gateway"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
)
