import CowbenchCore
import Foundation
import Glibc
import Testing

/// A containerd that cowbench did not start, standing in for the host's:
/// the test starts it, with an object of another namespace in it, and
/// stops it. cowbench must work in its own namespace there and leave
/// nothing, even after a kill -9 and `cleanup`.
final class StandInContainerd {
    let directory: String
    let socket: String
    let pid: pid_t

    init(directory: String) throws {
        self.directory = directory
        socket = directory + "/c.sock"
        try FileSystem.mkdir(directory, mode: 0o700)
        try FileSystem.write("""
            version = 2
            root = "\(directory)/root"
            state = "\(directory)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(socket)"
            [ttrpc]
              address = "\(socket).ttrpc"
            [debug]
              address = ""
            [metrics]
              address = ""

            """, to: directory + "/config.toml")
        guard let binary = Command.find("containerd") else { throw TestFailure("containerd is missing; run scripts/setup.sh") }
        pid = try Command.spawn([binary, "--config", directory + "/config.toml"], log: directory + "/containerd.log")
        for _ in 0..<500 where !FileSystem.exists(socket) { usleep(20_000) }
        do {
            _ = try ctr("default", ["snapshots", "prepare", "someone-elses", ""])
        } catch {
            stop()
            throw error
        }
    }

    /// `ctr` on this containerd in `namespace`; throws when it fails.
    @discardableResult
    func ctr(_ namespace: String, _ arguments: [String]) throws -> String {
        let r = try CLI.runTool([Command.find("ctr") ?? "ctr", "--address", socket, "--namespace", namespace] + arguments)
        guard r.status == 0 else { throw TestFailure("ctr \(arguments.joined(separator: " ")): \(r.all)") }
        return r.stdout
    }

    /// The first column of `ctr WHAT ls` in `namespace`, header dropped.
    func list(_ namespace: String, _ what: String) throws -> [String] {
        try ctr(namespace, [what, "ls"]).split(separator: "\n").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Snapshot directories on disk, every namespace's.
    var snapshotDirectories: Int {
        ((try? FileSystem.list(directory + "/root/io.containerd.snapshotter.v1.overlayfs/snapshots")) ?? []).count
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        for m in Mounts.mounts(under: directory).reversed() { _ = umount2(m.mountPoint, Int32(MNT_DETACH)) }
        try? TreeRemover.remove(directory)
    }
}

@Suite(.serialized) struct HostContainerdTests {
    /// What the host's containerd must look like after cowbench: only the other namespace's snapshot.
    func expectUntouched(_ host: StandInContainerd, directoriesBefore: Int, _ context: String) throws {
        #expect(try host.list("cowbench", "snapshots").isEmpty, "\(context): no snapshot left in cowbench's namespace")
        #expect(try host.list("cowbench", "images").isEmpty, "\(context): no image left in cowbench's namespace")
        #expect(!(try host.list("default", "namespaces")).contains("cowbench"), "\(context): cowbench's namespace went when it was empty")
        #expect(try host.list("default", "snapshots") == ["someone-elses"], "\(context): the other namespace is untouched")
        #expect(host.snapshotDirectories == directoriesBefore, "\(context): containerd's collection took every snapshot's files")
    }

    @Test func runsOnAContainerdItDidNotStartAndLeavesItAsItWas() throws {
        let base = "/var/tmp/cowbench-hostrun-\(getpid())"
        let host = try StandInContainerd(directory: "/var/tmp/cowbench-hostctd-\(getpid())")
        defer { host.stop(); try? TreeRemover.remove(base) }
        let before = host.snapshotDirectories
        let r = try CLI.run(["run", "--driver", "containerd:overlayfs", "--containerd-address", host.socket, "--instances", "30",
                             "--block", "10", "--state-dir", base + "/state", "--out", base + "/out"])
        #expect(r.status == 0, "\(r.all)")
        let summary = try FileSystem.read(base + "/out/summary.csv")
        #expect(summary.contains("containerd:overlayfs,address=\(host.socket)"), "the address is part of the driver's name in every figure")
        // Space is read where that containerd keeps its snapshots (here the
        // host's own filesystem), not on cowbench's small scratch filesystem.
        let hostUsed = Double(try FileSystem.statfs(host.directory).usedBytes)
        let probe = try #require(try CLI.rows(base + "/out/instances.csv").first { $0["probe"] == "1" })
        let recorded = try #require(Double(probe["fs_used_bytes"] ?? ""))
        #expect(abs(recorded - hostUsed) < hostUsed * 0.05, "fs_used_bytes \(recorded) is the stand-in's filesystem's (\(hostUsed))")
        let bytes = try #require(Int(try CLI.rows(base + "/out/summary.csv").first?["bytes_per_instance"] ?? ""))
        #expect(bytes >= 4096 && bytes < 1 << 20, "an instance's upper directory, a few small files: \(bytes)")
        try expectUntouched(host, directoriesBefore: before, "after a run")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
    }

    @Test func cleanupAfterKillDashNineRemovesItsSnapshotsThere() throws {
        let base = "/var/tmp/cowbench-hostkill-\(getpid())"
        let host = try StandInContainerd(directory: "/var/tmp/cowbench-hostctd-\(getpid())")
        defer { host.stop(); try? TreeRemover.remove(base) }
        let before = host.snapshotDirectories
        let p = try CLI.start(["run", "--driver", "containerd:overlayfs", "--containerd-address", host.socket, "--keep",
                               "--instances", "100000", "--warmup", "0", "--state-dir", base + "/state", "--out", base + "/out"])
        var waited = 0
        while (try host.list("cowbench", "snapshots")).filter({ $0.hasPrefix("cowbench-") }).count < 20 && waited < 120_000 {
            usleep(50_000)
            waited += 50
        }
        kill(p.pid, SIGKILL)
        _ = p.finish()
        try #require((try host.list("cowbench", "snapshots")).filter { $0.hasPrefix("cowbench-") }.count >= 20,
                     "the kill left kept instances' snapshots in that containerd")
        let r = try CLI.run(["cleanup", "--state-dir", base + "/state"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("removed csnap \(host.socket) overlayfs cowbench-"), "\(r.stdout)")
        #expect(r.stdout.contains("removed cimage \(host.socket) docker.io/cowbench/busybox:"), "\(r.stdout)")
        try expectUntouched(host, directoriesBefore: before, "after cleanup")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
        let again = try CLI.run(["cleanup", "--state-dir", base + "/state"])
        #expect(again.status == 0 && again.stdout.contains("nothing to clean up"), "\(again.all)")
    }

    @Test func aSnapshotterThatDidNotLoadThereIsNamedWithContainerdsReason() throws {
        let base = "/var/tmp/cowbench-hostzfs-\(getpid())"
        let host = try StandInContainerd(directory: "/var/tmp/cowbench-hostctd-\(getpid())")
        defer { host.stop(); _ = try? CLI.run(["cleanup", "--state-dir", base]); try? TreeRemover.remove(base) }
        // Debian's containerd has a zfs snapshotter, which skips itself off zfs.
        let r = try CLI.run(["run", "--driver", "containerd:snapshotter=zfs", "--containerd-address", host.socket, "--instances", "1",
                             "--state-dir", base, "--out", base + "/out"])
        #expect(r.status != 0 && r.stderr.contains("could not load its zfs snapshotter: ") && r.stderr.contains("zfs"), "\(r.all)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
        #expect(try host.list("cowbench", "snapshots").isEmpty)
    }

    @Test func refusesWhatWouldTouchTheHostsStorageOrCannotWork() throws {
        let base = "/var/tmp/cowbench-hostbad-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let exhaust = try CLI.run(["exhaust", "--driver", "containerd:btrfs,address=/run/containerd/containerd.sock", "--state-dir", base])
        #expect(exhaust.status != 0 && exhaust.stderr.contains("keeps its data on the host's own storage, which exhaust would fill"), "\(exhaust.all)")
        let relative = try CLI.run(["run", "--driver", "containerd", "--containerd-address", "run/c.sock", "--state-dir", base])
        #expect(relative.status != 0 && relative.stderr.contains("--containerd-address must be an absolute path"), "\(relative.all)")
        let missing = try CLI.run(["run", "--driver", "containerd", "--containerd-address", base + "/none.sock", "--state-dir", base])
        #expect(missing.status != 0 && missing.stderr.contains("is not a socket"), "\(missing.all)")
        let bare = try CLI.run(["run", "--driver", "containerd:address", "--state-dir", base])
        #expect(bare.status != 0 && bare.stderr.contains("needs a value; write address=SOCKET"), "\(bare.all)")
    }
}

/// `containerd:snapshotter=NAME` names any snapshotter the daemon has; one it
/// lacks is refused with the daemon's own list, before any instance.
@Suite struct ContainerdSnapshotterNameTests {
    @Test func aSnapshotterTheDaemonLacksIsNamedWithWhatItHas() throws {
        let base = "/var/tmp/cowbench-ctdname-\(getpid())"
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base]); try? TreeRemover.remove(base) }
        let lacks = try CLI.run(["run", "--driver", "containerd:snapshotter=nosuch", "--instances", "1", "--state-dir", base, "--out", base + "/o1"])
        #expect(lacks.status != 0 && lacks.stderr.contains("has no nosuch snapshotter; it has ") && lacks.stderr.contains("overlayfs"), "\(lacks.all)")
        #expect(!lacks.stderr.contains("stayed busy"), "the failed open left nothing holding the scratch filesystem: \(lacks.stderr)")
        let two = try CLI.run(["run", "--driver", "containerd:native,snapshotter=zfs", "--state-dir", base])
        #expect(two.status != 0 && two.stderr.contains("containerd takes one snapshotter, not native and zfs"), "\(two.all)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
    }
}
