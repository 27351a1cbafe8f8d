import CowbenchCore
import Glibc
import Testing

/// Specs as users type them, resolved against the drivers' own options.
@Suite struct DriverSpecTests {
    @Test func aSpecKeepsItsOptionsInOrderAndItsWholeName() throws {
        let s = try DriverSpec(parsing: "overlay:redirect_dir=on,index=on,volatile")
        #expect(s.name == "overlay")
        #expect(s.options.value("redirect_dir") == "on" && s.options.value("index") == "on" && s.options.has("volatile"))
        #expect(s.description == "overlay:redirect_dir=on,index=on,volatile")
        #expect(s.pathComponent == "overlay-redirect_dir-on-index-on-volatile", "no ':' or ',' to split overlay's lowerdir")
        #expect(try DriverSpec(parsing: "copy").description == "copy")
        #expect(throws: SetupError.self) { try DriverSpec(parsing: "overlay:volatile,volatile") }
        #expect(throws: SetupError.self) { try DriverSpec(parsing: "overlay:metacopy=") }
    }

    @Test func aListOfSpecsSplitsWhereADriverIsNamed() {
        #expect(DriverRegistry.splitSpecs("overlay,overlay:redirect_dir=on,index=on,btrfs,reflink:btrfs,copy")
            == ["overlay", "overlay:redirect_dir=on,index=on", "btrfs", "reflink:btrfs", "copy"])
        #expect(DriverRegistry.splitSpecs("overlay:metacopy=on,volatile") == ["overlay:metacopy=on,volatile"])
    }

    @Test func optionsAreCheckedAgainstWhatTheDriverDeclares() throws {
        #expect(try DriverRegistry.resolve("reflink:btrfs").capabilities.scratchFilesystem == .btrfs)
        #expect(try DriverRegistry.resolve("reflink").capabilities.scratchFilesystem == .xfs)
        #expect(try DriverRegistry.resolve("overlay:metacopy=on").capabilities.metadataOnlyCopyUp)
        #expect(try DriverRegistry.resolve("overlay:redirect_dir=on").capabilities.renamesImageDirectories)
        for (spec, says) in [("overlay:bogus", "has no option 'bogus'"), ("overlay:xino=maybe", "takes on or off or auto"),
                             ("overlay:volatile=yes", "is a bare flag"), ("btrfs:volatile", "it takes none"),
                             ("zfs", "unknown driver 'zfs'")] {
            let e = #expect(throws: SetupError.self) { try DriverRegistry.resolve(spec) }
            #expect(e?.description.contains(says) == true, "\(spec): \(e?.description ?? "")")
        }
    }
}

/// The command runner with programs that fork into the background.
@Suite struct CommandTests {
    /// A daemon keeps the output pipe open; the runner returns when the
    /// program itself exits, with what it printed.
    @Test func aProgramThatLeavesADaemonBehindReturns() throws {
        let out = try Command.run(["/bin/sh", "-c", "sleep 30 & echo $!"])
        let pid = pid_t(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        #expect(pid > 0, "\(out)")
        #expect(kill(pid, 0) == 0, "the daemon is still running: the runner did not wait for it")
        kill(pid, SIGKILL)
        #expect(throws: Command.Failure.self) { try Command.run(["/bin/sh", "-c", "echo no >&2; exit 3"]) }
    }

    /// A tool or daemon gets stdin, stdout and stderr and nothing else of
    /// cowbench's, even a descriptor without close-on-exec.
    @Test func spawnedProgramsInheritNoOtherDescriptor() throws {
        let leaked = open("/dev/null", O_RDONLY) // no O_CLOEXEC, like a parent's socket
        defer { close(leaked) }
        let listing = "ls /proc/self/fd | sort -n | tr '\\n' ' '"
        let out = try Command.run(["/bin/sh", "-c", listing])
        #expect(out.trimmingCharacters(in: .whitespaces) == "0 1 2 3", "fd 3 is ls's own directory handle: \(out)")
        let log = "/tmp/cowbench-spawn-\(getpid()).log"
        defer { unlink(log) }
        let pid = try Command.spawn(["/bin/sh", "-c", listing], log: log)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        let spawned = try FileSystem.read(log)
        #expect(spawned.trimmingCharacters(in: .whitespaces) == "0 1 2 3", "\(spawned)")
    }
}

/// Where / is no mount point (a plain chroot), the box cannot work, and every
/// driver says why up front; scripts/test-release.sh sees it in a real chroot.
@Suite struct RootMountTests {
    @Test func thisHostsRootIsAMountPoint() {
        #expect(HostCheck.rootProblem() == nil)
    }

    @Test func aChrootsMountinfoWithoutRootIsNamed() throws {
        // What /proc/self/mountinfo showed inside `chroot DIR` with only /proc mounted there.
        let chroot = "1133 1132 0:22 / /proc rw,relatime - proc proc rw\n"
        let problem = try #require(HostCheck.rootProblem(mountinfo: chroot))
        #expect(problem.contains("/ is not a mount point here") && problem.contains("mount --rbind DIR DIR"))
        let bound = "1134 1100 254:0 /var/tmp/cr / rw,relatime - ext4 /dev/vda rw\n" + chroot
        #expect(HostCheck.rootProblem(mountinfo: bound) == nil)
    }
}
