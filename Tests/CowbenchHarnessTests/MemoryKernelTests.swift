import CowbenchCore
@testable import CowbenchHarness
import Glibc
import Testing

/// Memory figures on the real kernel and its memory cgroup: 8 live
/// instances reading the same 16 MiB of image files. Overlay's instances
/// read one lower inode, so they share its page cache; btrfs snapshots and
/// copies each have inodes of their own, so each instance caches the files
/// again.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil && MemoryCgroup.hierarchy() != nil,
                             "needs root and a memory cgroup controller"))
struct MemoryKernelTests {
    static let image = "synthetic:layers=2,files=16,sizes=1m,delete=0,overwrite=0,seed=5"
    static let imageBytes = 16.0 * 1_048_576

    func run(_ driver: String, keep: Bool = true, cold: Bool = false, instances: Int = 8) throws -> (RunSummary, [InstanceResult]) {
        let state = "/var/tmp/cowbench-memory-\(getpid())"
        defer { try? TreeRemover.remove(state) }
        var c = RunConfiguration(driver: driver)
        c.image = Self.image
        c.workload = .read(limit: Workload.defaultReadLimit)
        c.instances = instances
        c.keep = keep
        c.cold = cold
        c.usageEvery = 1
        c.block = instances
        c.warmup = 1
        c.scratchSize = 1 << 30
        var rows: [InstanceResult] = []
        let summary = try Harness(configuration: c, stateDirectory: state, runID: "m\(driver)", version: "test").run { r, _ in rows.append(r) }[0]
        #expect(summary.failures == 0, "\(summary.firstError ?? "")")
        #expect(Mounts.mounts(under: state).isEmpty)
        return (summary, rows)
    }

    /// Every cgroup the run made is gone, the run's own included.
    func expectNoCgroupsLeft(_ driver: String) {
        guard let h = MemoryCgroup.hierarchy() else { return }
        let left = ((try? FileSystem.list(h.mount)) ?? []).filter { $0.hasPrefix("cowbench-m\(driver)") }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func overlaySharesPageCacheAndBtrfsAndCopyDoNot() throws {
        var perInstance: [String: Double] = [:]
        for driver in ["overlay", "btrfs", "copy"] {
            let (s, rows) = try run(driver)
            expectNoCgroupsLeft(driver)
            #expect(s.environment.memoryCgroup == MemoryCgroup.hierarchy()?.version.rawValue)
            #expect(s.liveInstances == 8)
            #expect(rows.allSatisfy { $0.memoryBytes != nil && $0.pageCacheBytes != nil }, "every instance has its charge")
            perInstance[driver] = s.memoryPerInstance?.value ?? -1
            // The density curve: the run's growth after each kept instance, rising
            // by about the image on btrfs and copy, hardly at all on overlay.
            let curve = rows.compactMap(\.runMemoryBytes).map(Double.init)
            #expect(curve.count == 8, "\(driver): a run_memory_bytes per kept instance: \(curve)")
            if let first = curve.first, let last = curve.last {
                let slope = (last - first) / 7
                if driver == "overlay" { #expect(slope <= 0.25 * Self.imageBytes, "overlay slope \(slope)") }
                else { #expect(slope >= 0.8 * Self.imageBytes, "\(driver) slope \(slope)") }
            }
        }
        let overlay = perInstance["overlay"]!, btrfs = perInstance["btrfs"]!, copy = perInstance["copy"]!
        // Each btrfs or copy instance caches the image's files again; overlay's
        // 8 share one copy, so they add at most an eighth of it each, plus noise.
        #expect(btrfs >= 0.8 * Self.imageBytes, "btrfs: \(btrfs) bytes per live instance for \(Self.imageBytes) read")
        #expect(copy >= 0.8 * Self.imageBytes, "copy: \(copy) bytes per live instance")
        #expect(overlay <= 0.25 * Self.imageBytes, "overlay: \(overlay) bytes per live instance")
    }

    /// The charge-to-first-toucher rule, visible per instance: on btrfs each
    /// instance's own cgroup holds the pages it read; on overlay the pages
    /// were cached before the instances ran, so their cgroups hold almost none.
    @Test func perInstanceChargesShowWhoTouchedFirst() throws {
        let (_, btrfs) = try run("btrfs", keep: false, instances: 4)
        let (_, overlay) = try run("overlay", keep: false, instances: 4)
        #expect(btrfs.allSatisfy { Double($0.pageCacheBytes ?? 0) >= 0.8 * Self.imageBytes }, "\(btrfs.map(\.pageCacheBytes))")
        #expect(overlay.dropFirst().allSatisfy { Double($0.pageCacheBytes ?? .max) <= 0.25 * Self.imageBytes },
                "\(overlay.map(\.pageCacheBytes))")
        expectNoCgroupsLeft("btrfs")
        expectNoCgroupsLeft("overlay")
    }

    /// The loop device does direct I/O, so reading a file on the scratch
    /// filesystem caches its pages once, not again for the backing file.
    @Test func readingCachesEachPageOnce() throws {
        let (s, rows) = try run("copy", keep: false, cold: true, instances: 2)
        #expect(s.environment.loopDirectIO)
        #expect(s.environment.cold)
        for r in rows {
            let cache = Double(r.pageCacheBytes ?? 0)
            // Cold: nothing was cached, so the instance itself brings every page in, once.
            #expect(cache >= 0.9 * Self.imageBytes && cache <= 1.3 * Self.imageBytes, "page cache \(cache) for \(Self.imageBytes) read")
        }
    }

    /// --cold drops the caches between create and start, so start and run
    /// read the image (busybox and 16 MiB of files) from disk.
    @Test func coldStartAndRunAreSlowerThanWarm() throws {
        let (_, warm) = try run("overlay", keep: false, instances: 6)
        let (cold, coldRows) = try run("overlay", keep: false, cold: true, instances: 6)
        #expect(cold.environment.cold)
        // usageEvery is 1 here, so every row is a probe, run alone: take them all.
        let w = warm.compactMap { r in r.start.flatMap { s in r.run.map { s + $0 } } }.sorted()
        let c = coldRows.compactMap { r in r.start.flatMap { s in r.run.map { s + $0 } } }.sorted()
        #expect(w.count == 6 && c.count == 6)
        #expect(c[c.count / 2] > 1.5 * w[w.count / 2], "cold start+run \(c) against warm \(w)")
    }

    /// Joining a v1 memory cgroup waits for an RCU grace period once no move
    /// happened for a while, which a copy's slow create guarantees: the wait
    /// is timed apart, so it shows up in cgroupJoin and not in start.
    @Test func cgroupJoinIsTimedApartFromStart() throws {
        let (_, rows) = try run("copy", keep: false, instances: 8)
        #expect(rows.allSatisfy { $0.cgroupJoin != nil }, "every instance with a cgroup has its join timed")
        let longer = rows.filter { ($0.cgroupJoin ?? 0) > ($0.start ?? .infinity) }
        let seen = rows.map { "start \($0.start ?? -1) join \($0.cgroupJoin ?? -1)" }
        #expect(!longer.isEmpty, "some join took longer than the whole start, so it is not inside it: \(seen)")
    }
}
