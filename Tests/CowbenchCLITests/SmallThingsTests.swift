import CowbenchCore
import Foundation
import Glibc
import Testing

/// The smaller things a new user trips over, each checked on the real binary.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct SmallThingsTests {
    static let base = "/var/tmp/cowbench-small-\(getpid())"
    var state: String { Self.base + "/state" }

    @Test func sizesAndNumbersSayWhatIsWrong() throws {
        defer { try? TreeRemover.remove(Self.base) }
        #expect(ByteSize.parse("1.5G") == 3 << 29 && ByteSize.parse("1P") == 1 << 50 && ByteSize.parse("1.5") == nil)
        let tiny = try CLI.run(["run", "--driver", "overlay", "--scratch-size", "1K", "--state-dir", state])
        #expect(tiny.status != 0 && tiny.stderr.contains("--scratch-size 1K is too small"), "\(tiny.all)")
        let negative = try CLI.run(["run", "--driver", "overlay", "--instances", "-1", "--state-dir", state])
        #expect(negative.stderr.contains("--instances must be at least 1, not -1"), "\(negative.all)")
        let twice = try CLI.run(["compare", "--drivers", "overlay,overlay", "--state-dir", state])
        #expect(twice.status != 0 && twice.stderr.contains("names overlay more than once"), "\(twice.all)")
        let help = try CLI.run(["compare", "--help"])
        #expect(!help.stdout.contains("--root"), "compare offers no --root it would refuse")
        #expect(!FileSystem.exists(state), "nothing was made")
    }

    /// Variants of one driver stay apart, by their whole spec, in every
    /// CSV and in the verdicts.
    @Test func variantsNeverMerge() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let out = Self.base + "/variants"
        let r = try CLI.run(["compare", "--drivers", "overlay,overlay:redirect_dir=on,index=on", "--instances", "6", "--warmup", "0",
                             "--scratch-size", "1G", "--state-dir", state, "--out", out])
        #expect(r.status == 0, "\(r.all)")
        let summary = try FileSystem.read(out + "/summary.csv").split(separator: "\n").dropFirst()
        #expect(summary.count == 2 && summary.contains { $0.contains("\"overlay:redirect_dir=on,index=on\"") }, "\(summary)")
        let rows = try FileSystem.read(out + "/instances.csv").split(separator: "\n").dropFirst()
        #expect(rows.filter { $0.contains("\"overlay:redirect_dir=on,index=on\"") }.count == 6, "each variant row keeps its spec")
        #expect(r.stdout.contains("overlay:redirect_dir=on,index=on"), "the table names the variant")
        #expect(CLI.leftovers(under: Self.base).isEmpty)
    }

    @Test func aReportOfTheSameDirectoryTwiceSaysEachThingOnce() throws {
        let dir = ReferenceRunTests.reference + "/compare-1"
        let once = try CLI.run(["report", dir]), twice = try CLI.run(["report", dir, dir + "/"])
        #expect(once.status == 0 && twice.stdout == once.stdout)
    }

    @Test func instanceCreateNeverSilentlyChangesPlacement() throws {
        defer {
            _ = try? CLI.run(["instance", "destroy", "--all", "--state-dir", state])
            try? TreeRemover.remove(Self.base)
        }
        let root = Self.base + "/root"
        try FileSystem.createDirectories(root)
        let first = try CLI.run(["instance", "create", "--driver", "overlay", "--image", "seed-demo", "--root", root, "--state-dir", state])
        #expect(first.status == 0, "\(first.all)")
        let other = try CLI.run(["instance", "create", "--driver", "overlay", "--image", "seed-demo", "--state-dir", state])
        #expect(other.status != 0 && other.stderr.contains("already lives on --root \(root)"), "\(other.all)")
        let sized = try CLI.run(["instance", "create", "--driver", "copy", "--image", "seed-demo", "--scratch-size", "1G", "--state-dir", state])
        #expect(sized.status == 0, "\(sized.all)")
        let resized = try CLI.run(["instance", "create", "--driver", "copy", "--image", "seed-demo", "--scratch-size", "2G", "--state-dir", state])
        #expect(resized.status != 0 && resized.stderr.contains("scratch filesystem is 1.0 GiB, not 2.0 GiB"), "\(resized.all)")
    }

    @Test func imageListHasAHeaderAndTrueLayerCounts() throws {
        defer { try? TreeRemover.remove(Self.base) }
        try FileSystem.createDirectories(Self.base + "/rootfs/bin")
        try FileSystem.write("x", to: Self.base + "/rootfs/bin/x")
        let imported = try CLI.run(["image", "import", Self.base + "/rootfs", "--name", "plain", "--state-dir", state])
        #expect(imported.status == 0 && imported.stdout.contains("plain: 1 layer;"), "\(imported.all)")
        let list = try CLI.run(["image", "list", "--state-dir", state])
        let lines = list.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.first?.prefix(3) == ["NAME", "LAYERS", "FORMAT"], "\(list.stdout)")
        #expect(lines.contains { $0.first == "plain" && $0.dropFirst().first == "1" }, "a rootfs import is one layer: \(list.stdout)")
    }

    @Test func mountOptionsAreNotRepeated() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let r = try CLI.run(["run", "--driver", "btrfs", "--instances", "2", "--warmup", "0", "--scratch-size", "1G",
                             "--state-dir", state, "--out", Self.base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        let row = try FileSystem.read(Self.base + "/out/instances.csv").split(separator: "\n")[1]
        #expect(row.contains("\"rw,relatime,") && !row.contains("rw,relatime,rw"), "\(row)")
    }

    /// start ends when the child calls execve, by the child's own clock, so
    /// a process that exits before the parent runs again does not move its
    /// whole life into start.
    @Test func startEndsAtTheChildsExecve() throws {
        defer { try? TreeRemover.remove(Self.base) }
        try FileSystem.createDirectories(Self.base + "/img")
        try BusyboxImage.build(into: Self.base + "/img")
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        for _ in 0..<20 {
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let before = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
            let (pid, execAt, _) = try RootfsProcess.launch(rootfs: Self.base + "/img/0", argv: ["/bin/true"], stdout: null)
            _ = try RootfsProcess.wait(pid)
            clock_gettime(CLOCK_MONOTONIC, &ts)
            let after = Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
            #expect(execAt > before && execAt < after, "the child's execve time lies inside the instance's life")
        }
    }
}
