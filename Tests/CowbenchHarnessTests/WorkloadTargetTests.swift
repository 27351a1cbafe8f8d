import CowbenchCore
@testable import CowbenchHarness
import Glibc
import Testing

/// What the stat and seq-write workloads hand the instance's shell.
@Suite struct WorkloadTargetTests {
    @Test func statLooksUpBottomLayerEntriesStillInTheRootfs() throws {
        let base = "/var/tmp/cowbench-bottom-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        for dir in ["\(base)/layer/bin", "\(base)/layer/etc", "\(base)/rootfs/bin", "\(base)/rootfs/etc"] { try FileSystem.createDirectories(dir) }
        for f in ["bin/busybox", "etc/gone", "etc/replaced"] { try FileSystem.write("x", to: "\(base)/layer/\(f)") }
        #expect(symlink("/bin/busybox", "\(base)/layer/bin/sh") == 0)
        // The merged view: etc/gone deleted above, etc/replaced now a directory, etc/new only above.
        try FileSystem.write("x", to: "\(base)/rootfs/bin/busybox")
        #expect(symlink("/bin/busybox", "\(base)/rootfs/bin/sh") == 0)
        try FileSystem.mkdir("\(base)/rootfs/etc/replaced")
        try FileSystem.write("x", to: "\(base)/rootfs/etc/new")
        let t = try Workload.findTargets(in: "\(base)/rootfs", layers: ["\(base)/layer"])
        #expect(t.deepest == ["/bin/busybox", "/bin/sh"], "\(t.deepest)")
        let argv = try Workload.stat(count: 2).argv(t)
        #expect(argv.suffix(2) == ["/bin/busybox", "/bin/sh"] && argv[0] == "/bin/sh")
        #expect(throws: SetupError.self) { try Workload.stat(count: 3).argv(t) }
    }

    /// Overlay asks only the layers that have the parent directory, so a
    /// bottom-layer file under /bin, which no layer above has, is found at
    /// once however many layers there are: stat must take entries whose
    /// directory the whole stack above has.
    @Test func statTakesEntriesWhoseDirectoryEveryLayerAboveHas() throws {
        let base = "/var/tmp/cowbench-deep-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let files = ["0/bin/busybox", "0/rootfile", "0/data/a/x0", "1/data/a/x1", "1/data/b/y1", "1/data/a/gone", "2/data/a/x2"]
        for f in files {
            try FileSystem.createDirectories(Path.parent("\(base)/\(f)"))
            try FileSystem.write("x", to: "\(base)/\(f)")
        }
        for f in ["bin/busybox", "rootfile", "data/a/x0", "data/a/x1", "data/b/y1", "data/a/x2"] {
            try FileSystem.createDirectories(Path.parent("\(base)/rootfs/\(f)"))
            try FileSystem.write("x", to: "\(base)/rootfs/\(f)")
        }
        let t = try Workload.findTargets(in: "\(base)/rootfs", layers: ["0", "1", "2"].map { "\(base)/\($0)" })
        // bin and data/b are missing from a layer above theirs; data/a/gone was deleted above.
        #expect(t.deepest == ["/data/a/x0", "/rootfile", "/data/a/x1", "/data/a/x2"], "\(t.deepest)")
        #expect(try Workload.deepestEntries(["0", "1", "2"].map { "\(base)/\($0)" }, rootfs: "\(base)/rootfs", limit: 2) == ["/data/a/x0", "/rootfile"])
    }

    @Test func seqWriteCopiesWholeChunksAndRefusesAPartialOne() throws {
        let argv = try Workload(name: "seq-write", fileSize: 256 << 20).argv(Workload.Targets())
        #expect(argv.filter { $0 == "/tmp/chunk" }.count == 256 && argv[2].contains("sync /tmp/seq"))
        #expect(try Workload(name: "seq-write").description == "seq-write(bytes=\(64 << 20))")
        #expect(throws: SetupError.self) { try Workload(name: "seq-write", fileSize: (1 << 20) + 1) }
        let small = try Workload(name: "seq-write", fileSize: 4096).argv(Workload.Targets())
        #expect(small.filter { $0 == "/tmp/chunk" }.count == 1 && small[2].contains("-lt 4096"))
    }
}
