// swift-tools-version:6.0
import PackageDescription

// The API worker's modules import FoundationEssentials only, which keeps ICU and the
// rest of Foundation out of the binary (idle worker RSS). Swift otherwise lets code
// use members of modules imported only indirectly (Foundation, through swift-crypto),
// which would bring them back unnoticed: here that is a compile error.
let essentialsOnly: [SwiftSetting] = [.enableUpcomingFeature("MemberImportVisibility")]

let package = Package(
    name: "AgentLive",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agentlive-api", targets: ["agentlive-api"]),
        .executable(name: "agentlive-relay", targets: ["agentlive-relay"]),
        .executable(name: "agentlive-daemon", targets: ["agentlive-daemon"]),
        // libFuzzer target (deploy/dev/fuzz.sh); a normal build replays input files.
        .executable(name: "agentlive-fuzz", targets: ["agentlive-fuzz"]),
        // libFuzzer target for the daemon's reading of agent output (deploy/dev/fuzz.sh daemon).
        .executable(name: "agentlive-daemon-fuzz", targets: ["agentlive-daemon-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries the design names, found through pkg-config.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CMalloc"),

        // The wire types every process shares (API, relay, daemon, tests).
        .target(name: "AgentLiveWire"),

        // Tokens as presented by clients, and their constant-time check (API and relay).
        .target(
            name: "AgentLiveCredentials",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),

        // Connection strings read by libpq: endpoints, user, database, target_session_attrs
        // (the relay connects with postgres-nio from what libpq read).
        .target(name: "AgentLiveConnInfo", dependencies: ["CLibPQ"]),

        // A small synchronous libpq client: connections, parameters, rows, migrations.
        .target(name: "AgentLivePostgres", dependencies: ["CLibPQ"]),

        // The REST API as plain functions from request to response.
        .target(
            name: "AgentLiveAPI",
            dependencies: [
                "AgentLiveCredentials",
                "AgentLivePostgres",
                "AgentLiveWire",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: essentialsOnly
        ),

        // Hosts any request handler on libfcgi: accept loop, prefork supervisor, signals.
        .target(
            name: "AgentLiveFastCGI",
            dependencies: [
                "CFastCGI",
                "CMalloc",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: essentialsOnly
        ),

        // The WebSocket relay: LISTEN/NOTIFY in, task events out to subscribed browsers.
        .target(
            name: "AgentLiveRelay",
            dependencies: [
                "AgentLiveConnInfo",
                "AgentLiveCredentials",
                "AgentLiveWire",
                "CMalloc",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // What an agent prints, read and made safe to send: the session parsers,
        // redaction, size limits and text throttling. No network, so that the fuzz
        // target builds it alone.
        .target(name: "AgentLiveOutput", dependencies: ["AgentLiveWire"]),

        // The daemon: runs an agent CLI per task and streams what it does to the API.
        .target(
            name: "AgentLiveDaemon",
            dependencies: [
                "AgentLiveOutput",
                "AgentLiveWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
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
            ],
            swiftSettings: essentialsOnly
        ),
        .executableTarget(
            name: "agentlive-relay",
            dependencies: [
                "AgentLiveRelay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .executableTarget(
            name: "agentlive-daemon",
            dependencies: [
                "AgentLiveDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // What the fuzz executables and the property tests share: the fuzz main (libFuzzer
        // or a replay of input files) and a seeded generator (SplitMix64).
        .target(name: "AgentLiveFuzzSupport"),

        // Request parsing and body validation under libFuzzer: built with
        // `-sanitize=fuzzer -DFUZZING` by deploy/dev/fuzz.sh, plain (a replayer) otherwise.
        .executableTarget(
            name: "agentlive-fuzz",
            dependencies: [
                "AgentLiveAPI",
                "AgentLiveFastCGI",
                "AgentLiveFuzzSupport",
                "AgentLivePostgres",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The daemon's parsers, redaction and throttle under libFuzzer: built with
        // `-sanitize=fuzzer -DFUZZING` by `deploy/dev/fuzz.sh daemon`, a replayer otherwise.
        .executableTarget(
            name: "agentlive-daemon-fuzz", dependencies: ["AgentLiveFuzzSupport", "AgentLiveOutput", "AgentLiveWire"]
        ),

        .testTarget(name: "AgentLiveWireTests", dependencies: ["AgentLiveWire"]),
        .testTarget(
            name: "AgentLiveCredentialsTests",
            dependencies: ["AgentLiveCredentials", .product(name: "HTTPTypes", package: "swift-http-types")]
        ),
        .testTarget(name: "AgentLivePostgresTests", dependencies: ["AgentLivePostgres"]),
        .testTarget(name: "AgentLiveConnInfoTests", dependencies: ["AgentLiveConnInfo"]),
        .testTarget(
            name: "AgentLiveAPITests",
            dependencies: [
                "AgentLiveAPI",
                "AgentLiveFuzzSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "AgentLiveFastCGITests", dependencies: ["AgentLiveFastCGI"]),
        .testTarget(
            name: "AgentLiveRelayTests",
            dependencies: [
                "AgentLiveRelay", "AgentLiveConnInfo",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "AgentLiveDaemonTests",
            dependencies: ["AgentLiveDaemon", "AgentLiveFuzzSupport", "AgentLiveOutput", "AgentLiveWire"]
        ),
    ]
)
