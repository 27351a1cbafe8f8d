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
    ],
    targets: [
        // libbtrfsutil from Debian's libbtrfsutil-dev (scripts/setup.sh installs it).
        .systemLibrary(name: "CBtrfsUtil", pkgConfig: "libbtrfsutil",
                       providers: [.apt(["libbtrfsutil-dev"])]),
        // Only what Swift cannot import: variadic ioctl, _IOWR request numbers,
        // flexible-array structs, and the async-signal-safe child after fork.
        .target(name: "CShim"),
        .target(name: "CowbenchCore", dependencies: ["CShim", "CBtrfsUtil"]),
        .executableTarget(name: "cowbench", dependencies: [
            "CowbenchCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CowbenchCoreTests", dependencies: ["CowbenchCore"]),
    ]
)
