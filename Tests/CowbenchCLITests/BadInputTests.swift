import CowbenchCore
import Foundation
import Glibc
import Testing

/// Every bad input fails before anything is created, with a message that
/// names the problem and what to do, and a non-zero exit.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
final class BadInputTests {
    let base = "/var/tmp/cowbench-bad-\(getpid())"
    var state: String { base + "/state" }
    var out: String { base + "/out" }

    init() throws { try FileSystem.createDirectories(base) }
    deinit {
        for m in Mounts.mounts(under: base) { try? Mounts.unmount(m.mountPoint) }
        try? TreeRemover.remove(base)
    }

    func expectRefused(_ args: [String], _ message: String, prefix: [String] = [],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try CLI.run(args + ["--state-dir", state], prefix: prefix)
        #expect(r.status != 0, "\(args) succeeded", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!FileSystem.exists(state), "\(args) created the state directory", sourceLocation: sourceLocation)
        #expect(!FileSystem.exists(out), "\(args) created the output directory", sourceLocation: sourceLocation)
        #expect(CLI.leftovers(under: base).isEmpty, sourceLocation: sourceLocation)
    }

    @Test func unknownNamesAndBadNumbers() throws {
        let run = ["run", "--driver", "overlay", "--out", out]
        try expectRefused(["compare", "--drivers", "overlay,zfs", "--out", out], "--drivers 'zfs' is unknown; choose one of overlay, btrfs, copy")
        try expectRefused(["run", "--driver", "zfs", "--out", out], "--driver 'zfs' is unknown")
        try expectRefused(run + ["--image", "ubuntu-nope"], "unknown image 'ubuntu-nope'")
        try expectRefused(run + ["--image", "synthetic:layers=x"], "synthetic image: layers=x is not a non-negative integer")
        try expectRefused(run + ["--workload", "fly"], "--workload 'fly' is unknown")
        try expectRefused(run + ["--scratch-size", "12Q"], "--scratch-size '12Q' is not a size")
        try expectRefused(run + ["--instances", "0"], "--instances must be at least 1, not 0")
        try expectRefused(run + ["--instances=-3"], "--instances must be at least 1, not -3")
        try expectRefused(run + ["--parallel", "0"], "--parallel must be at least 1")
        try expectRefused(["exhaust", "--size", "1M", "--out", out], "--size must be at least 128M")
        try expectRefused(run + ["--image", "synthetic:layers=600,files=1"],
                          "the image has 600 layers, but the overlay driver takes at most 500")
    }

    /// Synthetic images that cannot fit, or whose parameters contradict
    /// themselves, are refused with the numbers before anything is built.
    @Test func syntheticImagesThatCannotBeAreRefused() throws {
        let run = ["run", "--driver", "copy", "--out", out]
        try expectRefused(run + ["--image", "synthetic:files=10,sizes=100G"], "holds about 4.1 TiB, more than the 16.0 GiB scratch filesystem")
        try expectRefused(run + ["--image", "synthetic:files=10,sizes=1k:60/1m:30"], "add up to 90, not 100")
        try expectRefused(run + ["--image", "synthetic:delete=200"], "delete=200 is a percent, at most 100")
        try expectRefused(run + ["--image", "synthetic:files=10,files=20"], "files is given twice")
    }

    @Test func rootsThatCannotHoldTheDriver() throws {
        let ext = base + "/ext4-dir"
        try FileSystem.createDirectories(ext)
        try expectRefused(["run", "--driver", "btrfs", "--root", ext, "--out", out],
                          "--root \(ext) is on ext4, but the btrfs driver needs btrfs")
        try expectRefused(["run", "--driver", "overlay", "--root", base + "/missing", "--out", out], "does not exist")
        try FileSystem.write("yours", to: ext + "/precious")
        try expectRefused(["run", "--driver", "overlay", "--root", ext, "--out", out], "is not empty and not cowbench's")
        #expect(try FileSystem.read(ext + "/precious") == "yours")
    }

    @Test func readOnlyPlacesAreRefused() throws {
        let ro = "/var/tmp/cowbench-ro-\(getpid())" // outside `base`, whose mounts count as leftovers
        try FileSystem.createDirectories(ro)
        try Mounts.mount(source: "tmpfs", target: ro, type: "tmpfs", flags: UInt(MS_RDONLY), data: "size=1m")
        defer { try? Mounts.unmount(ro); try? FileSystem.rmdir(ro) }
        let r = try CLI.run(["run", "--driver", "overlay", "--state-dir", ro + "/state"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--state-dir \(ro)/state is on a read-only filesystem"), "\(r.stderr)")
        try expectRefused(["run", "--driver", "overlay", "--out", ro + "/results"], "--out \(ro)/results is on a read-only filesystem")
    }

    @Test func withoutPrivilegeNothingHappens() throws {
        try expectRefused(["compare"], "lacks CAP_SYS_ADMIN",
                          prefix: ["/usr/bin/setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"])
        try expectRefused(["compare"], "must run as root",
                          prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    }
}

/// `exhaust` says so, with a non-zero status, when the filesystem survives.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ExhaustSurvivalTests {
    @Test func survivingIsNotReportedAsSuccess() throws {
        let base = "/var/tmp/cowbench-survive-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let r = try CLI.run(["exhaust", "--no-fragment-data", "--max-instances", "1", "--size", "1G",
                             "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 3, "\(r.all)")
        #expect(r.stdout.contains("No ENOSPC after 1 instances"), "\(r.stdout)")
        #expect(try FileSystem.read(base + "/out/exhaust-summary.csv").contains(",survived,1,"))
        #expect(CLI.leftovers(under: base).isEmpty)
    }
}
