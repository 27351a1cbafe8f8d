import CowbenchCore
@testable import CowbenchHarness
import Glibc
import Testing

/// Real runs of the harness on every driver; serialized like all mount tests.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct HarnessKernelTests {
    static let image = "synthetic:layers=3,files=12,sizes=128k,delete=0,overwrite=0,seed=3"

    func run(_ driver: String, _ workload: Workload, instances: Int = 4, keep: Bool = false, usageEvery: Int = 1000,
             image: String = Self.image,
             check: @escaping (InstanceResult) -> Void = { _ in }) throws -> RunSummary {
        let state = "/var/tmp/cowbench-htest-\(getpid())"
        defer { try? TreeRemover.remove(state) }
        var c = RunConfiguration(driver: driver)
        c.image = image
        c.workload = workload
        c.usageEvery = usageEvery
        c.instances = instances
        c.warmup = 1
        c.keep = keep
        c.scratchSize = 1 << 30
        var rows = 0
        let summary = try Harness(configuration: c, stateDirectory: state, runID: "t", version: "test").run { r, env in
            rows += 1
            #expect(env.driver == driver)
            check(r)
        }[0]
        #expect(rows == instances, "one row per measured instance, warm-up excluded")
        #expect(summary.failures == 0, "\(summary.firstError ?? "")")
        #expect(Mounts.mounts(under: state).isEmpty)
        return summary
    }

    @Test(arguments: DriverRegistry.names)
    func everyWorkloadRunsOnEveryDriver(_ driver: String) throws {
        for w: Workload in [.start, .write(files: 20), .copyUp(count: 2), .delete(count: 2), .mixed(files: 5, count: 2), .chown(shift: 100_000)] {
            let s = try run(driver, w) { r in
                #expect(r.create != nil && r.start != nil && r.run != nil && r.destroy != nil, "\(w): every phase timed")
                #expect(r.error == nil, "\(w): \(r.error?.description ?? "")")
            }
            for p in Phase.allCases { #expect(s.phases[p]!.count == 3, "every instance but the probe (instance 0) is timed") }
        }
    }

    @Test func copyUpOnOverlayCopiesWholeFiles() throws {
        _ = try run("overlay", .copyUp(count: 2), usageEvery: 1) { r in
            #expect((r.usage?.bytes ?? 0) >= 2 * 128 << 10, "overlay copied both 128 KiB files up whole")
        }
    }

    @Test func writeWorkloadAddsInodes() throws {
        _ = try run("copy", .write(files: 50), usageEvery: 1) { r in #expect((r.usage?.inodes ?? 0) >= 50) }
    }

    @Test func btrfsRowsCarrySpaceInfo() throws {
        _ = try run("btrfs", .start, usageEvery: 1) { r in
            #expect((r.btrfs?.metadataTotal ?? 0) > 0 && (r.btrfs?.deviceSize ?? 0) == 1 << 30)
        }
    }

    @Test func accumulateModeDestroysEverythingAtTheEnd() throws {
        let s = try run("copy", .start, instances: 5, keep: true) { r in #expect(r.destroy == nil) }
        #expect(s.phases[.destroy]!.count == 5)
        #expect(s.teardownSeconds != nil)
        #expect((s.bytesPerInstance ?? 0) > Double(1 << 20), "copy pays the image size per kept instance")
    }

    @Test func failedWorkloadIsAnErrorOnItsRow() throws {
        let state = "/var/tmp/cowbench-hfail-\(getpid())"
        try FileSystem.createDirectories(state)
        let journal = try ResourceJournal(path: state + "/journal")
        defer { _ = try? journal.teardown(); try? TreeRemover.remove(state) }
        let ws = try DriverWorkspace(OverlayDriver.self, root: nil, scratchDirectory: state + "/s", scratchSize: 1 << 30, journal: journal)
        let image = try ws.driver.prepare(try ImageCatalog(stateDirectory: state, journal: journal).resolve("busybox"))
        let runner = try InstanceRunner(driver: ws.driver, image: image, argv: ["/bin/sh", "-c", "exit 4"], root: ws.root, btrfs: false)
        let r = runner.run(index: 0, id: "x", round: 0, keep: false, probe: false).result
        #expect(r.error?.phase == .run)
        #expect(r.error?.message.contains("status 4") == true)
        #expect(r.destroy != nil, "a failed workload's instance is still destroyed")
        try ws.driver.remove(image)
    }

    /// A deliberately tiny scratch filesystem: ENOSPC lands on the rows of the
    /// instances it hit, the run stops at --max-failures, and tears down.
    @Test func enospcMidRunIsRecordedOnItsRows() throws {
        let state = "/var/tmp/cowbench-htest-full-\(getpid())"
        defer { try? TreeRemover.remove(state) }
        var c = RunConfiguration(driver: "copy")
        c.image = "synthetic:layers=2,files=20,sizes=512k,delete=0,overwrite=0,seed=5"
        c.keep = true
        c.instances = 40
        c.warmup = 0
        c.maxFailures = 3
        c.scratchSize = 64 << 20
        var rows: [InstanceResult] = []
        let summary = try Harness(configuration: c, stateDirectory: state, runID: "full", version: "test").run { r, _ in rows.append(r) }[0]
        let failed = rows.filter { $0.error != nil }
        #expect(failed.count == 3 && summary.failures == 3, "the run stops at --max-failures")
        #expect(failed.allSatisfy { $0.error?.errno == "ENOSPC" && $0.error?.phase == .create }, "\(failed.map { $0.error?.description ?? "" })")
        #expect(rows.count < 40 && rows.count > 3, "some instances fit before the filesystem filled")
        #expect(rows.count == summary.instances + summary.failures)
        #expect(Mounts.mounts(under: state).isEmpty)
        #expect(((try? FileSystem.list(state + "/scratch")) ?? []).isEmpty, "torn down after ENOSPC")
    }

    @Test func usageWalkIsSampledEveryKthInstance() throws {
        var walked: [Int] = []
        _ = try run("overlay", .write(files: 3), instances: 7, usageEvery: 3) { r in
            if r.usage != nil { walked.append(r.index) }
            #expect((r.addedBytes != nil) == r.probe, "only probes carry a space figure")
        }
        #expect(walked == [0, 3, 6])
    }

    /// Rows stream out and statistics live in fixed-size histograms, so ten
    /// times the instances must not mean ten times the memory.
    @Test func memoryStaysFlatAsInstancesGrow() throws {
        func residentBytes() throws -> Int {
            let statm = try FileSystem.read("/proc/self/statm").split(separator: " ")
            return Int(statm[1])! * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        _ = try run("overlay", .start, instances: 100, usageEvery: 1, image: "busybox")
        let small = try residentBytes()
        _ = try run("overlay", .start, instances: 1000, usageEvery: 1, image: "busybox")
        let large = try residentBytes()
        #expect(large - small < 8 << 20, "RSS grew from \(small >> 20) MiB to \(large >> 20) MiB over 900 more instances")
    }
}

/// The baseline loops on the real kernel: they must do the same work (a
/// process really runs in each rootfs) and leave nothing behind.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct BaselineKernelTests {
    @Test(arguments: ["overlay", "btrfs", "copy"])
    func rawAndShellLoopsRunAndCleanUp(_ driver: String) throws {
        let state = "/var/tmp/cowbench-btest-\(getpid())"
        defer { try? TreeRemover.remove(state) }
        let b = try Baseline.run(driver: driver, image: "busybox", iterations: 5, warmup: 1, stateDirectory: state,
                                 runID: "t", scratchSize: 1 << 30)
        for p in [Phase.create, .start, .destroy] {
            #expect(b.raw[p]!.count == 5)
            #expect(b.raw[p]!.median > 0)
        }
        #expect(b.shellSecondsPerInstance > 0)
        #expect(b.shellScript.contains("chroot"))
        #expect(Mounts.mounts(under: state).isEmpty)
        #expect(try FileSystem.list(state + "/runs").isEmpty, "the journal is gone once everything is torn down")
    }

    @Test func shellQuotingSurvivesQuotes() throws {
        #expect(ShellLoop.quote("/a b/it's") == "'/a b/it'\\''s'")
    }
}
