// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "AgentLive",
    products: [
        .executable(name: "agentlive-api", targets: ["agentlive-api"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries the design names, found through pkg-config.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // The wire types every process shares (API, relay, daemon, tests).
        .target(name: "AgentLiveWire"),

        // A small synchronous libpq client: connections, parameters, rows, migrations.
        .target(name: "AgentLivePostgres", dependencies: ["CLibPQ"]),

        // The REST API as plain functions from request to response.
        .target(
            name: "AgentLiveAPI",
            dependencies: [
                "AgentLiveWire",
                "AgentLivePostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Hosts any request handler on libfcgi: accept loop, prefork supervisor, signals.
        .target(
            name: "AgentLiveFastCGI",
            dependencies: [
                "CFastCGI",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .executableTarget(
            name: "agentlive-api",
            dependencies: [
                "AgentLiveAPI",
                "AgentLiveFastCGI",
                "AgentLivePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(name: "AgentLiveWireTests", dependencies: ["AgentLiveWire"]),
        .testTarget(name: "AgentLivePostgresTests", dependencies: ["AgentLivePostgres"]),
        .testTarget(
            name: "AgentLiveAPITests",
            dependencies: [
                "AgentLiveAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "AgentLiveFastCGITests", dependencies: ["AgentLiveFastCGI"]),
    ]
)
