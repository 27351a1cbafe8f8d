import CowbenchCore
import Foundation
import Glibc
import Testing

/// Server layouts: a state directory or --root reached through a symlink
/// (a /var/lib that links to /srv/...) must work and leave nothing behind.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct HostLayoutTests {
    @Test(arguments: ["overlay", "btrfs", "copy"])
    func stateDirectoryThroughASymlinkLeavesNothingBehind(_ driver: String) throws {
        let base = "/var/tmp/cowbench-symlink-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        try FileSystem.createDirectories(base + "/real")
        #expect(symlink(base + "/real", base + "/link") == 0)
        let r = try CLI.run(["run", "--driver", driver, "--instances", "6", "--block", "3", "--warmup", "1", "--scratch-size", "1G",
                             "--state-dir", base + "/link/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        #expect(!r.stderr.contains("EXDEV") && !r.stderr.contains("warning: teardown"), "\(r.stderr)")
        #expect(CLI.leftovers(under: base + "/real").isEmpty, "nothing mounted or attached under the real path")
        #expect(((try? FileSystem.list(base + "/real/state/scratch")) ?? []).isEmpty)
        let clean = try CLI.run(["cleanup", "--state-dir", base + "/link/state"])
        #expect(clean.status == 0 && clean.stdout.contains("nothing to clean up"), "\(clean.all)")
    }

    @Test func rootThroughASymlinkWorks() throws {
        let base = "/var/tmp/cowbench-symroot-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        try FileSystem.createDirectories(base + "/real/root")
        #expect(symlink(base + "/real", base + "/link") == 0)
        let r = try CLI.run(["run", "--driver", "overlay", "--instances", "4", "--warmup", "0", "--root", base + "/link/root",
                             "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        #expect(CLI.leftovers(under: base).isEmpty)
        #expect(try FileSystem.list(base + "/real/root").isEmpty, "the root is left as it was found")
    }
}

/// A state directory on a filesystem of its own (a /var/lib partition, here
/// a loop-mounted btrfs), where copy_file_range from the host's busybox
/// fails with EXDEV: the built-in images must still build.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct StateOnItsOwnFilesystemTests {
    @Test func compareRunsWithTheStateDirOnAnotherFilesystem() throws {
        let base = "/var/tmp/cowbench-ownfs-\(getpid())"
        try FileSystem.createDirectories(base)
        let journal = try ResourceJournal(path: base + "/test.journal")
        defer { _ = try? journal.teardown(); try? TreeRemover.remove(base) }
        let fs = try ScratchFilesystem(kind: .btrfs, size: 2 << 30, directory: base + "/part", journal: journal)
        let state = fs.mountPoint + "/cowbench"
        let r = try CLI.run(["compare", "--instances", "3", "--block", "3", "--warmup", "0", "--scratch-size", "512M",
                             "--state-dir", state, "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        #expect(!r.all.contains("EXDEV"), "\(r.all)")
        #expect(CLI.leftovers(under: state).isEmpty)
        try fs.destroy()
    }
}

/// A user's own xfs (reflink=1) as --root: the reflink driver takes it,
/// and the figures name it xfs, not a magic number.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil && ScratchFilesystem.Kind.xfs.hostProblem == nil,
                             "needs root and mkfs.xfs"))
struct RootOnTheUsersXfsTests {
    @Test func reflinkRunsOnAnXfsRootAndSaysXfs() throws {
        let base = "/var/tmp/cowbench-xfsroot-\(getpid())"
        try FileSystem.createDirectories(base)
        let journal = try ResourceJournal(path: base + "/test.journal")
        defer { _ = try? journal.teardown(); try? TreeRemover.remove(base) }
        let fs = try ScratchFilesystem(kind: .xfs, size: 512 << 20, directory: base + "/part", journal: journal)
        let r = try CLI.run(["run", "--driver", "reflink", "--instances", "3", "--warmup", "0", "--root", fs.mountPoint,
                             "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains(" on xfs"), "\(r.stdout)")
        let summary = try FileSystem.read(base + "/out/summary.csv")
        #expect(summary.contains(",xfs,"), "\(summary)")
        #expect(CLI.leftovers(under: base + "/state").isEmpty)
        try fs.destroy()
    }
}

/// Read-only and full places: refused up front with what to do, or, when a
/// run fills the state filesystem half-way, said plainly instead of EIO.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ReadOnlyAndFullTests {
    @Test func doctorAndRunRefuseAReadOnlyRoot() throws {
        let base = "/var/tmp/cowbench-ro-\(getpid())"
        try FileSystem.createDirectories(base + "/src")
        try FileSystem.createDirectories(base + "/ro")
        defer { _ = umount2(base + "/ro", 0); try? TreeRemover.remove(base) }
        #expect(mount(base + "/src", base + "/ro", nil, UInt(MS_BIND), nil) == 0)
        #expect(mount(nil, base + "/ro", nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil) == 0)
        let doctor = try CLI.run(["doctor", "--root", base + "/ro", "--state-dir", base + "/state"])
        let lines = doctor.stdout.split(separator: "\n").filter { $0.contains("root for") }
        // Every driver the binary knows, containerd's included, which this test process may not have registered.
        let known = try CLI.run(["drivers"]).stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.isEmpty }.count
        #expect(known >= DriverRegistry.defaults.count)
        #expect(lines.count == known && lines.allSatisfy { $0.hasPrefix("FAIL") && $0.contains("read-only") }, "\(doctor.stdout)")
        let run = try CLI.run(["run", "--driver", "overlay", "--root", base + "/ro", "--instances", "2", "--state-dir", base + "/state"])
        #expect(run.status != 0 && run.stderr.contains("read-only mount"), "\(run.all)")
        #expect(try FileSystem.list(base + "/src").isEmpty)
    }

    func withSmallStateFilesystem(_ size: UInt64, _ body: (String) throws -> Void) throws {
        let base = "/var/tmp/cowbench-full-\(getpid())"
        try FileSystem.createDirectories(base)
        let journal = try ResourceJournal(path: base + "/test.journal")
        defer { _ = try? journal.teardown(); try? TreeRemover.remove(base) }
        let fs = try ScratchFilesystem(kind: .ext4, size: size, directory: base + "/part", journal: journal)
        try body(fs.mountPoint + "/state")
        #expect(CLI.leftovers(under: fs.mountPoint + "/state").isEmpty)
        #expect(((try? FileSystem.list(fs.mountPoint + "/state/runs")) ?? []).isEmpty, "no journal left behind")
        try fs.destroy()
    }

    @Test func tooLittleFreeSpaceIsRefusedUpFront() throws {
        try withSmallStateFilesystem(80 << 20) { state in
            let r = try CLI.run(["compare", "--instances", "3", "--state-dir", state, "--out", state + "/../out"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("available, but 3 scratch filesystems and the image need at least"), "\(r.stderr)")
            #expect(((try? FileSystem.list(state + "/scratch")) ?? []).isEmpty, "nothing made before the refusal")
        }
    }

    @Test func fillingTheStateFilesystemMidRunIsSaidPlainly() throws {
        try withSmallStateFilesystem(200 << 20) { state in
            let r = try CLI.run(["run", "--driver", "copy", "--image", "synthetic:layers=2,files=40,sizes=1m", "--keep",
                                 "--instances", "100", "--max-failures", "2", "--state-dir", state, "--out", state + "/../out"])
            #expect(r.status != 0)
            #expect(r.stderr.contains("the filesystem holding the state dir \(state) is full"), "\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }
}

/// On systemd hosts / is shared. Made here in a mount namespace of the
/// test's own (unshare --propagation shared): after a run, that namespace
/// must hold none of the mounts the instances' boxes made.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct SharedPropagationTests {
    @Test(arguments: ["btrfs", "overlay"])
    func instanceMountsDoNotPropagateFromASharedRoot(_ driver: String) throws {
        let base = "/var/tmp/cowbench-shared-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let run = [CLI.binary, "run", "--driver", driver, "--instances", "4", "--warmup", "0", "--scratch-size", "1G",
                   "--state-dir", base + "/state", "--out", base + "/out"].map { "'\($0)'" }.joined(separator: " ")
        let script = "findmnt -no PROPAGATION / ; \(run) >/dev/null 2>&1; echo status=$?; findmnt -rn -o TARGET"
        let r = try CLI.runTool(["/usr/bin/unshare", "--mount", "--propagation", "shared", "/bin/sh", "-c", script])
        #expect(r.status == 0, "\(r.all)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "shared", "the test namespace's / is shared: \(lines.first ?? "")")
        #expect(lines.contains("status=0"), "the run succeeded inside it: \(r.all)")
        let leaked = lines.filter { $0.contains(base) }
        #expect(leaked.isEmpty, "mounts propagated out of the instances' boxes: \(leaked)")
        #expect(CLI.leftovers(under: base).isEmpty)
    }
}
