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
