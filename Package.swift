// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cowbench",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cowbench", targets: ["cowbench"]),
        .library(name: "CowbenchCore", targets: ["CowbenchCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // libbtrfsutil from Debian's libbtrfsutil-dev (scripts/setup.sh installs it).
        .systemLibrary(name: "CBtrfsUtil", pkgConfig: "libbtrfsutil",
                       providers: [.apt(["libbtrfsutil-dev"])]),
        // Only what Swift cannot import: variadic ioctl, _IOWR request numbers,
        // flexible-array structs, and the async-signal-safe child after fork.
        // libarchive from Debian's libarchive-dev, for image import.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .target(name: "CShim"),
        .target(name: "CowbenchCore", dependencies: [
            "CShim", "CBtrfsUtil", "CArchive", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The C reference loops `cowbench baseline` compares the harness with;
        // they start processes with CShim's spawn, so the box is the same.
        .target(name: "CRawLoops", dependencies: ["CShim"]),
        // Timing and statistics; knows nothing of output formats.
        .target(name: "CowbenchHarness", dependencies: [
            "CowbenchCore", "CRawLoops", .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // Pure functions from results to bytes, one format per file; no I/O.
        .target(name: "CowbenchExport", dependencies: [
            "CowbenchHarness", .product(name: "CSV", package: "CSV.swift"),
        ]),
        .executableTarget(name: "cowbench", dependencies: [
            "CowbenchCore", "CowbenchHarness", "CowbenchExport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CowbenchCoreTests", dependencies: [
            "CowbenchCore", "CArchive", .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["Fixtures"]), // C programs the tests compile and run inside instances
        .testTarget(name: "CowbenchHarnessTests", dependencies: ["CowbenchHarness", "CowbenchExport"]),
        // Runs the built `cowbench` binary: exit codes, messages, signals, kill -9.
        .testTarget(name: "CowbenchCLITests", dependencies: [
            "CowbenchCore", .product(name: "CSV", package: "CSV.swift"),
        ]),
    ]
)
