// swift-tools-version:6.0
import PackageDescription

/// `scripts/fuzz` sets `RELAY_FUZZ=1`: the libFuzzer targets of `Fuzz/` join the package, and the
/// gateway's own modules (what they fuzz) are compiled with coverage and AddressSanitizer. The
/// dependencies are not, so a fuzz build reuses the test build's copy of them in `.build` instead
/// of building the whole graph (BoringSSL twice) a second time with sanitizers.
let fuzzing = Context.environment["RELAY_FUZZ"] == "1"
let sanitizers = ["-sanitize=fuzzer,address"]
let fuzzed: [SwiftSetting] = fuzzing ? [.unsafeFlags(sanitizers)] : []

let package = Package(
    name: "relay-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "relay-gateway", targets: ["relay-gateway"]),
        .library(name: "RelayGateway", targets: ["RelayGateway"]),
        .library(name: "RelayGatewayCLI", targets: ["RelayGatewayCLI"]),
        // A gateway in a test, from a YAML string: what the gateway's tests and plugin authors use.
        .library(name: "RelayGatewayTesting", targets: ["RelayGatewayTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        .target(
            name: "RelayCore",
            dependencies: [.product(name: "DequeModule", package: "swift-collections"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: fuzzed
        ),
        .target(
            name: "RelayConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: fuzzed
        ),
        .target(
            name: "RelayHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: fuzzed
        ),
        .target(
            name: "RelayGateway",
            dependencies: [
                "RelayCore",
                "RelayConfig",
                "RelayHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [.embedInCode("Console/console.html")],
            swiftSettings: fuzzed
        ),
        .target(
            name: "RelayPostgres",
            dependencies: [
                "RelayCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RelayBench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "relay-gateway", dependencies: ["RelayGatewayCLI"]),
        .target(
            name: "RelayGatewayCLI",
            dependencies: [
                "RelayGateway",
                "RelayPostgres",
                "RelayBench",
                "RelayConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Only the public API: proves a plugin outside the repo can do what it needs.
        .target(
            name: "RelayGatewayTesting",
            dependencies: ["RelayGateway", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .testTarget(
            name: "PluginAPITests",
            dependencies: ["RelayGateway", "RelayGatewayTesting"]
        ),
        .testTarget(name: "RelayCoreTests", dependencies: ["RelayCore", .product(name: "NIOPosix", package: "swift-nio")]),
        // The engine without a socket: its connection's state machine, and whole connections on
        // embedded channels.
        .testTarget(
            name: "RelayHTTPTests",
            dependencies: [
                "RelayHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RelayConfigTests", dependencies: ["RelayConfig"]),
        .testTarget(
            name: "RelayPostgresTests",
            dependencies: [
                "RelayPostgres",
                "RelayCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RelayGatewayTests",
            dependencies: [
                "RelayGateway",
                "RelayGatewayTesting",
                "RelayHTTP",
                "RelayPostgres",
                "RelayBench",
                "RelayConfig",
                "RelayCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            exclude: ["Browser"]
        ),
    ]
)

if fuzzing {
    // One executable per target (`Fuzz/Sources/NAME`), whose `main.swift` starts libFuzzer's driver.
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzConfig", ["RelayGateway", "RelayConfig", .product(name: "Logging", package: "swift-log")]),
        ("FuzzFlatJSON", ["RelayGateway"]),
        (
            "FuzzClientFrames",
            [
                "RelayGateway", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        (
            "FuzzHTTP",
            [
                "RelayGateway", "RelayHTTP", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
    package.targets.append(.target(name: "LibFuzzerDriver", path: "Fuzz/Sources/LibFuzzerDriver"))
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name, dependencies: target.dependencies + ["LibFuzzerDriver"], path: "Fuzz/Sources/\(target.name)",
                swiftSettings: [.unsafeFlags(sanitizers)], linkerSettings: [.unsafeFlags(sanitizers)]
            )
        )
    }
}
