import CowbenchCore
import Foundation
import Glibc
import Testing

/// kill -9 and Ctrl-C at random moments of a real `compare`, on the real
/// kernel. Seeds are printed so a failing trial can be replayed.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct FaultInjectionTests {
    static let drivers = ["overlay", "btrfs", "copy"]

    /// SplitMix64, so a seed names one trial exactly.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func compare(_ driver: String, state: String, out: String, instances: Int) throws -> CLI.Running {
        try CLI.start(["compare", "--drivers", driver, "--instances", "\(instances)", "--warmup", "1",
                       "--scratch-size", "2G", "--state-dir", state, "--out", out])
    }

    @Test func killDashNineThenCleanupLeavesNothing() throws {
        let base = "/var/tmp/cowbench-kill-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let seed = UInt64(ProcessInfo.processInfo.environment["COWBENCH_FAULT_SEED"] ?? "") ?? UInt64(time(nil))
        print("kill -9 trials: seed \(seed) (set COWBENCH_FAULT_SEED to replay)")
        var rng = Random(state: seed)
        var rowsSeen = 0
        for trial in 0..<21 {
            let driver = Self.drivers[trial % 3]
            let delay = 20_000 + Int(rng.next() % 1_500_000)
            let out = base + "/out\(trial)"
            let p = try compare(driver, state: base + "/state", out: out, instances: 2000)
            usleep(UInt32(delay))
            kill(p.pid, SIGKILL)
            let killed = p.finish()
            print("trial \(trial): \(driver), kill -9 after \(delay / 1000) ms, status \(killed.status)")
            #expect(killed.status == 128 + SIGKILL, "trial \(trial) (seed \(seed)): \(killed.all)")

            let cleanup = try CLI.run(["cleanup", "--state-dir", base + "/state"])
            #expect(cleanup.status == 0, "trial \(trial) (seed \(seed)): \(cleanup.all)")
            #expect(CLI.leftovers(under: base).isEmpty, "trial \(trial) (seed \(seed)): \(CLI.leftovers(under: base))")
            if FileSystem.exists(out + "/instances.csv") { rowsSeen += try CLI.checkCSV(out + "/instances.csv") }
            let again = try CLI.run(["cleanup", "--state-dir", base + "/state"])
            #expect(again.stdout.contains("nothing to clean up"), "cleanup twice is harmless: \(again.all)")
        }
        print("instance rows that survived the kills and parsed: \(rowsSeen)")
    }

    @Test func sigintStopsCleanlyAndKeepsRows() throws {
        let base = "/var/tmp/cowbench-int-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        for (trial, driver) in (Self.drivers + ["overlay"]).enumerated() {
            let out = base + "/out\(trial)"
            let p = try compare(driver, state: base + "/state", out: out, instances: 100_000)
            usleep(UInt32(800_000 + trial * 300_000))
            kill(p.pid, SIGINT)
            let r = p.finish()
            #expect(r.status == 128 + SIGINT, "\(driver): \(r.all)")
            #expect(r.stderr.contains("stopped by SIGINT; everything cowbench made is torn down; results so far are in \(out)"), "\(r.stderr)")
            #expect(CLI.leftovers(under: base).isEmpty, "\(driver): no cleanup needed after Ctrl-C: \(CLI.leftovers(under: base))")
            let rows = try CLI.checkCSV(out + "/instances.csv")
            #expect(rows > 0, "\(driver): rows finished before the signal are on disk")
            #expect(FileSystem.exists(out + "/summary.csv"))
            print("SIGINT trial \(trial): \(driver), \(rows) rows kept")
        }
    }

    /// A second Ctrl-C does not kill the teardown; it says it is still going.
    @Test func secondSigintSaysItIsStillCleaningUp() throws {
        let base = "/var/tmp/cowbench-int2-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let p = try compare("btrfs", state: base + "/state", out: base + "/out", instances: 100_000)
        usleep(1_000_000)
        kill(p.pid, SIGINT)
        usleep(10_000)
        kill(p.pid, SIGINT)
        let r = p.finish()
        #expect(r.status == 128 + SIGINT, "\(r.all)")
        #expect(r.stderr.contains("still cleaning up; wait for it, or kill -9 it and run `cowbench cleanup`"), "\(r.stderr)")
        #expect(CLI.leftovers(under: base).isEmpty)
    }

    @Test func aNewRunWarnsAboutLeftovers() throws {
        let base = "/var/tmp/cowbench-left-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let p = try compare("overlay", state: base + "/state", out: base + "/out", instances: 100_000)
        usleep(900_000)
        kill(p.pid, SIGKILL)
        _ = p.finish()
        let r = try CLI.run(["compare", "--drivers", "overlay", "--instances", "2", "--warmup", "0", "--scratch-size", "1G",
                             "--state-dir", base + "/state", "--out", base + "/out2"])
        #expect(r.stderr.contains("an earlier run left"), "\(r.stderr)")
        #expect(r.stderr.contains("run `cowbench cleanup --state-dir \(base)/state`"))
        _ = try CLI.run(["cleanup", "--state-dir", base + "/state"])
        #expect(CLI.leftovers(under: base).isEmpty)
    }
}

/// Instances made by hand outlive their process; `cleanup` removes them too.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct CleanupOfHandMadeInstancesTests {
    @Test func cleanupRemovesInstanceCreateWorkspaces() throws {
        let base = "/var/tmp/cowbench-hand-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        for driver in ["overlay", "btrfs"] {
            let r = try CLI.run(["instance", "create", "--driver", driver, "--scratch-size", "1G", "--state-dir", base + "/state"])
            #expect(r.status == 0, "\(r.all)")
        }
        #expect(!Mounts.mounts(under: base).isEmpty, "the instances are there to look at")
        #expect(try CLI.run(["instance", "list", "--state-dir", base + "/state"]).stdout.split(separator: "\n").count == 3, "a header and two instances")
        let c = try CLI.run(["cleanup", "--state-dir", base + "/state"])
        #expect(c.status == 0, "\(c.all)")
        #expect(c.stdout.contains("removed mount"), "\(c.stdout)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
        #expect(try CLI.run(["instance", "list", "--state-dir", base + "/state"]).stdout.contains("no instances"))
    }
}

/// kill -9 during a fuse-overlayfs run leaves FUSE daemons (cowbench's own
/// children, now orphans) and their mounts. `cleanup` must remove both
/// whether the daemon still serves, died (a stale mount, ENOTCONN), or
/// is stopped and would hang anything that touches its mount.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil && DriverRegistry.availability(of: FuseOverlayDriver.self).works,
                             "needs root and fuse-overlayfs"))
struct FuseKillTests {
    enum Daemon: String, CaseIterable { case running, killed, stopped }

    @Test(arguments: Daemon.allCases) func cleanupAfterKillDashNineLeavesNoFuseMountOrDaemon(_ mode: Daemon) throws {
        let base = "/var/tmp/cowbench-fusekill-\(getpid())"
        // A failed expectation must not leave the kill's leftovers to the next test.
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base + "/state"]); try? TreeRemover.remove(base) }
        // --keep: the instance the kill is to catch must not be destroyed first.
        let p = try CLI.start(["compare", "--drivers", "fuse-overlayfs", "--keep", "--instances", "100000", "--warmup", "0",
                               "--scratch-size", "1G", "--state-dir", base + "/state", "--out", base + "/out"])
        let fuseMounts = { Mounts.mounts(under: base).filter { $0.fsType.hasPrefix("fuse") } }
        var waited = 0
        while fuseMounts().isEmpty && waited < 60_000 { usleep(20_000); waited += 20 }
        kill(p.pid, SIGKILL)
        _ = p.finish()
        let mounts = fuseMounts()
        let daemons = DaemonProcess.running(program: FuseOverlayDriver.program, under: base)
        try #require(!mounts.isEmpty && !daemons.isEmpty, "the kill caught a FUSE mount (\(mounts.count)) and its daemon (\(daemons.count))")

        switch mode {
        case .running: break
        case .killed:
            for pid in daemons { kill(pid, SIGKILL) }
            var waitedForDeath = 0
            while !DaemonProcess.running(program: FuseOverlayDriver.program, under: base).isEmpty && waitedForDeath < 5_000 {
                usleep(10_000); waitedForDeath += 10
            }
            // A name never looked up, so the answer cannot come from FUSE's attribute cache.
            var st = stat()
            let rc = stat(mounts[0].mountPoint + "/never-looked-up", &st)
            let err = errno
            #expect(rc == -1 && err == ENOTCONN, "a dead daemon leaves a stale mount: stat gave \(rc), errno \(err)")
        case .stopped:
            for pid in daemons { kill(pid, SIGSTOP) }
        }

        let cleanup = try CLI.start(["cleanup", "--state-dir", base + "/state"])
        var elapsed = 0
        // Never waitpid here: Process reaps its own child, and a stolen reap hangs it.
        while cleanup.process.isRunning && elapsed < 30_000 { usleep(20_000); elapsed += 20 }
        if elapsed >= 30_000 { kill(cleanup.pid, SIGKILL) }
        let r = cleanup.finish()
        #expect(elapsed < 30_000, "\(mode): cleanup hung: \(r.all)")
        #expect(r.status == 0, "\(mode): \(r.all)")
        #expect(r.stdout.contains("removed daemon"), "\(mode): \(r.stdout)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(mode): \(CLI.leftovers(under: base))")
        print("fuse kill -9, daemon \(mode): cleanup took \(elapsed) ms for \(mounts.count) mount(s)")
    }
}

/// kill -9 in the middle of a containerd run leaves cowbench's containerd
/// running with snapshots prepared and mounted. `cleanup` must stop it and
/// take its root, with every snapshot in it, and every mount away.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil && Command.find("containerd") != nil && Command.find("ctr") != nil,
                             "needs root and containerd"))
struct ContainerdKillTests {
    @Test(arguments: ["containerd:overlayfs", "containerd:btrfs"])
    func cleanupAfterKillDashNineLeavesNoSnapshotMountOrDaemon(_ driver: String) throws {
        let base = "/var/tmp/cowbench-ctdkill-\(getpid())"
        // A failed expectation must not leave the kill's leftovers to the next test.
        defer { _ = try? CLI.run(["cleanup", "--state-dir", base + "/state"]); try? TreeRemover.remove(base) }
        let p = try CLI.start(["compare", "--drivers", driver, "--keep", "--instances", "100000", "--warmup", "0",
                               "--scratch-size", "1G", "--state-dir", base + "/state", "--out", base + "/out"])
        // An instance's rootfs mount means containerd has prepared a snapshot.
        let instanceMounts = { Mounts.mounts(under: base).filter { $0.mountPoint.hasSuffix("/rootfs") } }
        var waited = 0
        while instanceMounts().isEmpty && waited < 120_000 { usleep(20_000); waited += 20 }
        kill(p.pid, SIGKILL)
        _ = p.finish()
        // Its memory is the run's: containerd is in the run's own cgroup, where the kill left it.
        let memoryCgroups = DaemonProcess.running(program: "containerd", under: base).map { pid in
            ((try? FileSystem.read("/proc/\(pid)/cgroup")) ?? "").split(separator: "\n").first { $0.contains(":memory:") || $0.hasPrefix("0::") }.map(String.init) ?? ""
        }
        #expect(!memoryCgroups.isEmpty && memoryCgroups.allSatisfy { $0.contains("/cowbench-") && $0.hasSuffix("/tool") },
                "containerd's memory cgroup is the run's tool cgroup: \(memoryCgroups)")
        let daemons = DaemonProcess.running(program: "containerd", under: base)
        let roots = ((try? FileSystem.list(base + "/state/scratch")) ?? []).map { base + "/state/scratch/\($0)/mnt/containerd" }
        try #require(!instanceMounts().isEmpty && !daemons.isEmpty, "the kill caught a mounted snapshot and cowbench's containerd")

        let r = try CLI.run(["cleanup", "--state-dir", base + "/state"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("removed daemon"), "\(r.stdout)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(driver): \(CLI.leftovers(under: base))")
        for root in roots { #expect(!FileSystem.exists(root), "containerd's root, with its snapshots, is gone: \(root)") }
    }
}
