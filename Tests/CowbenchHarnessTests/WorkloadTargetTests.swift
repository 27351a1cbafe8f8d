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
        let t = try Workload.findTargets(in: "\(base)/rootfs", bottomLayer: "\(base)/layer")
        #expect(t.bottom == ["/bin/busybox", "/bin/sh"], "\(t.bottom)")
        let argv = try Workload.stat(count: 2).argv(t)
        #expect(argv.suffix(2) == ["/bin/busybox", "/bin/sh"] && argv[0] == "/bin/sh")
        #expect(throws: SetupError.self) { try Workload.stat(count: 3).argv(t) }
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
