// swift-tools-version:6.0
import PackageDescription

let hotPath: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"]),
    .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

// Modules that handle every record but are not the matcher: release builds skip the dynamic
// exclusivity checks (debug builds keep them, and the tests run there).
let perRecord: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "VigilTaxonomy"),
        // The hot path: dynamic exclusivity checks cost more than the matching itself there,
        // and these modules hold no shared mutable state across threads.
        .target(name: "VigilMatch", dependencies: ["CPCRE2", "CVigilSIMD"], swiftSettings: hotPath),
        .target(
            name: "VigilRules",
            dependencies: ["VigilMatch", "VigilTaxonomy", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "CVigilSIMD"),
        .target(name: "VigilDecode", dependencies: ["CVigilSIMD"], swiftSettings: hotPath),
        .target(
            name: "VigilScan",
            dependencies: ["CVigilSIMD", "VigilDecode", "VigilMatch", "VigilRules", "VigilTaxonomy"],
            swiftSettings: perRecord
        ),
        .target(
            name: "VigilMonitor", dependencies: ["CVigilSIMD", "VigilScan", "VigilDecode", "VigilTaxonomy"],
            swiftSettings: perRecord),
        .target(
            name: "VigilState", dependencies: ["CSQLite", "VigilMonitor", "VigilScan", "VigilDecode", "VigilTaxonomy"]),
        .target(
            name: "VigilNotify",
            dependencies: ["VigilState", "VigilMonitor", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "VigilIncidents",
            dependencies: [
                "VigilMonitor", "VigilScan", "VigilDecode", "VigilTaxonomy", "VigilNotify",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(name: "VigilServer"),
        .target(
            name: "VigilDaemon",
            dependencies: [
                "VigilMonitor", "VigilState", "VigilNotify", "VigilScan", "VigilRules", "VigilDecode", "VigilServer",
                "VigilIncidents",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: perRecord
        ),
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilScan", "VigilRules", "VigilTaxonomy", "VigilDaemon", "VigilState", "VigilIncidents",
                "VigilNotify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "VigilTaxonomyTests", dependencies: ["VigilTaxonomy"]),
        .testTarget(name: "VigilMatchTests", dependencies: ["VigilMatch"]),
        .testTarget(name: "VigilDecodeTests", dependencies: ["VigilDecode"]),
        .testTarget(name: "VigilRulesTests", dependencies: ["VigilRules", "VigilScan"]),
        .testTarget(
            name: "VigilMonitorTests", dependencies: ["VigilMonitor", "VigilState", "VigilNotify", "VigilDaemon"]),
        .testTarget(
            name: "VigilIncidentsTests",
            dependencies: ["VigilIncidents", "VigilMonitor", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "VigilEndToEndTests", dependencies: []),
    ],
    swiftLanguageModes: [.v6]
)
