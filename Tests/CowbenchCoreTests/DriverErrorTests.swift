@testable import CowbenchCore
import Glibc
import Testing

extension KernelTests {
    @Suite struct DriverErrors {
        @Test func btrfsOnExt4FailsAtOnceNamingThePath() throws {
            try DriverFixture.with(DriverFactory(CopyDriver.self)) { f in
                let error = #expect(throws: DriverError.self) {
                    try BtrfsDriver(root: f.scratch.mountPoint, journal: f.journal)
                }
                #expect(error?.description.contains(f.scratch.mountPoint) == true)
                #expect(error?.description.contains("is ext4") == true)
            }
        }

        /// A combination the kernel refuses fails when the driver opens,
        /// before any image, with the kernel's reason, and leaves nothing.
        @Test func anOptionTheKernelRefusesFailsWithItsReason() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let e = #expect(throws: DriverError.self) {
                    try DriverRegistry.resolve("overlay:metacopy=on,redirect_dir=off").open(root: f.scratch.mountPoint, journal: f.journal)
                }
                #expect(e?.description.contains("conflicting options") == true, "dmesg's words: \(e?.description ?? "")")
                #expect(Mounts.mounts(under: f.scratch.mountPoint).map(\.mountPoint) == [f.scratch.mountPoint])
                #expect(!FileSystem.exists(f.scratch.mountPoint + "/probe"))
                #expect(OverlayDriver.check(DriverOptions([.init(key: "nosuchoption", value: nil)]))?.contains("nosuchoption") == true,
                        "fsconfig names an option the kernel does not know, with nothing mounted")
                #expect(OverlayDriver.check(DriverOptions([.init(key: "metacopy", value: "on")])) == nil)
            }
        }

        /// mount(8) would say "special device overlay does not exist"; we name the directory.
        @Test func overlayMountFailureNamesTheMissingDirectory() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let layers = try f.image("gone", [[.file("a", "a")], [.file("b", "b")]])
                let image = try f.driver.prepare(layers)
                try TreeRemover.remove(image.path + "/0")
                let error = #expect(throws: SyscallError.self) { try f.driver.create(id: "x", from: image) }
                #expect(error?.call == "mount")
                #expect(error?.description.contains("lowerdir #2") == true)
                #expect(error?.description.contains(image.path + "/0 does not exist") == true)
                #expect(!FileSystem.exists(f.scratch.mountPoint + "/instances/x"), "a failed create leaves nothing")
                try FileSystem.mkdir(image.path + "/0")
                try f.driver.remove(image)
            }
        }

        /// When every directory exists, the kernel log says what is wrong.
        @Test func overlayMountFailureQuotesTheKernelLog() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let lower = f.state + "/lower", work = f.state + "/work"
                let upper = f.scratch.mountPoint + "/upper", target = f.scratch.mountPoint + "/merged"
                for d in [lower, work, upper, target] { try FileSystem.mkdir(d) }
                let error = #expect(throws: SyscallError.self) {
                    try OverlayMount.mount(lowers: [lower], upper: upper, work: work, target: target)
                }
                #expect(error?.description.contains("; dmesg: overlayfs: workdir and upperdir must reside under the same mount") == true,
                        "\(error?.description ?? "")")
                for d in [upper, target] { try FileSystem.rmdir(d) }
            }
        }

        /// Past mount(2)'s page, options go through fsconfig: key=value ones as
        /// strings, bare ones as flags; the mount shows the same options as a
        /// short stack mounted with mount(2).
        @Test func keyValueOptionsReachTheKernelThroughFsconfig() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let options = ["metacopy=on", "redirect_dir=on", "volatile"]
                for (name, count) in [("short", 2), ("deep", 500)] {
                    let lowers = try (0..<count).map { i -> String in
                        let d = f.state + "/\(name)-l\(i)"
                        try FileSystem.mkdir(d)
                        return d
                    }
                    let upper = f.scratch.mountPoint + "/\(name)-upper", work = f.scratch.mountPoint + "/\(name)-work"
                    let target = f.scratch.mountPoint + "/\(name)-merged"
                    for d in [upper, work, target] { try FileSystem.mkdir(d) }
                    #expect(OverlayMount.fitsMountOptions(lowers: lowers, upper: upper, work: work, flags: options) == (count == 2))
                    try OverlayMount.mount(lowers: lowers, upper: upper, work: work, target: target, flags: options)
                    let mounted = Mounts.mounts(under: target).first { $0.mountPoint == target }
                    try Mounts.unmount(target)
                    let seen = mounted?.options ?? ""
                    // The kernel shows a bare volatile as fsync=volatile.
                    let tail = seen.split(separator: ",").filter { !$0.hasPrefix("lowerdir") }
                    for o in ["metacopy=on", "redirect_dir=on", "fsync=volatile"] {
                        #expect(tail.contains(Substring(o)), "\(name): \(o) in \(tail)")
                    }
                    for d in [upper, target] + lowers { try TreeRemover.remove(d) }
                    try TreeRemover.remove(work)
                }
            }
        }

        @Test func tooManyLayersForOverlayIsRefused() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let layers = ImageLayers(name: "deep", layers: Array(repeating: f.state, count: 501))
                let error = #expect(throws: DriverError.self) { try f.driver.prepare(layers) }
                #expect(error?.description.contains("501 layers") == true)
            }
        }

        @Test func removerRefusesToCrossAMount() throws {
            try DriverFixture.with(DriverFactory(OverlayDriver.self)) { f in
                let image = try f.driver.prepare(try f.image("m", [[.file("keep", "k")]]))
                let a = try f.driver.create(id: "a", from: image)
                let error = #expect(throws: SyscallError.self) { try TreeRemover.remove(a.path) }
                #expect(error?.errno == EXDEV)
                #expect(Look.read(image.path + "/0", "keep") == "k", "the image layer under the mount survived")
                try f.driver.destroy(a)
                try f.driver.remove(image)
            }
        }
    }
}
