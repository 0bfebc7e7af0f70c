// swift-tools-version:6.0
import PackageDescription

// A package of one's own plugins for relay-gateway, built against the gateway without forking it.
// The gateway is this repository (two folders up); elsewhere, depend on it by URL instead:
//   .package(url: "https://github.com/OWNER/relay-gateway.git", from: "1.0.0")
let package = Package(
    name: "webhook-plugins",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "relay-gateway-webhooks", targets: ["relay-gateway-webhooks"]),
        .library(name: "WebhookPlugins", targets: ["WebhookPlugins"]),
    ],
    dependencies: [
        // `name:` fixes the package's name whatever the clone's folder is called.
        .package(name: "relay-gateway", path: "../.."),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
    ],
    targets: [
        .target(
            name: "WebhookPlugins",
            dependencies: [
                .product(name: "RelayGateway", package: "relay-gateway"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "relay-gateway-webhooks",
            dependencies: [
                "WebhookPlugins",
                .product(name: "RelayGatewayCLI", package: "relay-gateway"),
            ]
        ),
        .testTarget(
            name: "WebhookPluginsTests",
            dependencies: [
                "WebhookPlugins",
                .product(name: "RelayGateway", package: "relay-gateway"),
                .product(name: "RelayGatewayTesting", package: "relay-gateway"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "WSClient", package: "swift-websocket"),
            ]
        ),
    ]
)
