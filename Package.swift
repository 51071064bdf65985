// swift-tools-version:6.1
import PackageDescription

/// Link flags for the `ark` executable on Linux, all to make a cold start read less of the
/// program (see link/ark.ld and docs/benchmarks-archive.md): lld, so the linker script below
/// applies; relative relocations packed (RELR: 19 KB instead of 2.4 MB of .rela.dyn); no export of
/// every symbol to the dynamic symbol table (the static Swift runtime asks for it; nothing
/// looks `ark`'s own symbols up at run time, and it made ld.so read 1.7 MB of symbol tables).
let arkLinkLayout = Context.packageDirectory + "/link/ark.ld"
let arkLinkerFlags: [String] = [
    "-use-ld=lld",
    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--no-export-dynamic",
    "-Xlinker", "-T", "-Xlinker", arkLinkLayout,
]

let package = Package(
    name: "ark",
    products: [
        .executable(name: "ark", targets: ["ark"]),
        .executable(name: "git-remote-ark", targets: ["git-remote-ark"]),
        .library(name: "ArkCore", targets: ["ArkCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // Trust roots for https endpoints (`ca_file`); already a dependency of async-http-client.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
    ],
    targets: [
        // C libraries found by pkg-config; each module map has a shim.h that includes the headers.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CFuse", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        // Wraps libfuse macros and versioned symbols Swift cannot call directly.
        .target(name: "CArkFuse", dependencies: ["CFuse"]),
        .target(name: "CArkMalloc"),
        // O_DIRECT, splice(2) and pipe sizes, which need _GNU_SOURCE; cachestat(2), which has no wrapper.
        .target(name: "CArkIO"),
        // Block tags of several blocks at once in vector lanes (intrinsics, per-function targets).
        .target(name: "CArkSipHash"),
        // SHA-1 for git object ids (see sha1.c for why not swift-crypto).
        .target(name: "CArkSHA1"),
        .target(
            name: "ArkCore",
            dependencies: [
                "CSodium", "CZstd", "CArkIO", "CArkSipHash", "CArkSHA1", "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ArkFS",
            dependencies: ["ArkCore", "CFuse", "CArkFuse", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "ArkSync",
            dependencies: [
                "ArkCore", "CSodium",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // An S3-compatible bucket as a node's pack storage: SigV4, the HTTP client, PackStorage over it.
        .target(
            name: "ArkS3",
            dependencies: [
                "ArkCore",
                "CArkIO",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "ark",
            dependencies: [
                "ArkCore", "ArkFS", "ArkSync", "ArkS3", "CArkMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            linkerSettings: [.unsafeFlags(arkLinkerFlags, .when(platforms: [.linux]))]
        ),
        // git's remote helper for `ark::` URLs: the protocol loop; git forms and packs are in ArkCore,
        // fetching a lazy repo's chunks from peers in ArkSync.
        .executableTarget(
            name: "git-remote-ark",
            dependencies: [
                "ArkCore", "ArkSync", "ArkS3",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(name: "ark-chunkstat", dependencies: ["ArkCore"]),
        .executableTarget(name: "ark-rbsrbench", dependencies: ["ArkSync", "ArkCore"]),
        // A misbehaving peer for the hostile-peer tests and scripts/bench-hostile.sh.
        .executableTarget(
            name: "ark-hostile",
            dependencies: [
                "ArkSync", "ArkCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ArkCoreTests",
            dependencies: [
                "ArkCore", "CArkIO", "CArkSipHash", "CSodium",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ArkS3Tests",
            dependencies: ["ArkS3", "ArkCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "ArkCLITests", dependencies: ["ArkCore", "ArkS3", .product(name: "GRDB", package: "GRDB.swift")]),
        // The filesystem without a kernel: an in-memory ObjectSource drives lookup, listing, reads and the cache.
        .testTarget(name: "ArkFSTests", dependencies: ["ArkFS", "ArkCore"]),
        .testTarget(
            name: "ArkSyncTests",
            dependencies: [
                "ArkSync", "ArkCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
