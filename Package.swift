// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ark", targets: ["ark"]),
        .library(name: "ArkCore", targets: ["ArkCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // C libraries found by pkg-config; each module map has a shim.h that includes the headers.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "ArkCore",
            dependencies: [
                "CSodium", "CZstd",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "ark",
            dependencies: [
                "ArkCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .testTarget(name: "ArkCoreTests", dependencies: ["ArkCore"]),
        .testTarget(name: "ArkCLITests", dependencies: ["ArkCore"]),
    ],
    swiftLanguageModes: [.v6]
)
