import CowbenchCore
@testable import CowbenchHarness
import Glibc
import Testing

/// Space figures against what can be computed by hand: the bytes the
/// workload writes, and the image's size measured by du(1) on its layers.
/// Each run is on a fresh scratch filesystem on the real kernel.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct SpaceGroundTruthTests {
    /// 12 files of 2 MiB on busybox, no deletes or rewrites, so the
    /// flattened image is the sum of its layers.
    static let image = "synthetic:layers=2,files=12,sizes=2m,delete=0,overwrite=0,seed=3"
    static let fileSize = 2 << 20

    struct Run {
        var summary: RunSummary
        var rows: [InstanceResult]
        var imageBytes: Double
    }

    func run(_ driver: String, _ workload: Workload, instances: Int = 6, parallel: Int = 1, usageEvery: Int = 2,
             block: Int = 6) throws -> Run {
        let state = "/var/tmp/cowbench-space-\(getpid())"
        defer { try? TreeRemover.remove(state) }
        var c = RunConfiguration(driver: driver)
        c.image = Self.image
        c.workload = workload
        c.instances = instances
        c.parallel = parallel
        c.usageEvery = usageEvery
        c.block = block
        c.warmup = 1
        c.scratchSize = 1 << 30
        var rows: [InstanceResult] = []
        let summary = try Harness(configuration: c, stateDirectory: state, runID: "g", version: "test").run { r, _ in rows.append(r) }[0]
        #expect(summary.failures == 0, "\(summary.firstError ?? "")")
        #expect(Mounts.mounts(under: state).isEmpty)
        // du(1), not cowbench, measures the layers the catalog built.
        let journal = try ResourceJournal(path: state + "/du.journal")
        defer { _ = try? journal.teardown() }
        let layers = try ImageCatalog(stateDirectory: state, journal: journal).resolve(Self.image).layers
        let du = try Command.run(["/usr/bin/du", "-s", "-B1", "--exclude=proc", "--exclude=sys"] + layers)
        let imageBytes = du.split(separator: "\n").compactMap { Double($0.split(separator: "\t").first ?? "") }.reduce(0, +)
        return Run(summary: summary, rows: rows, imageBytes: imageBytes)
    }

    func bytes(_ r: Run) -> Double { r.summary.bytesPerInstance ?? -1 }

    @Test func copyUpOnOverlayCostsTheWholeFiles() throws {
        let k = 4, expected = Double(k * Self.fileSize)
        let r = try run("overlay", .copyUp(count: k))
        #expect(abs(bytes(r) - expected) <= 0.1 * expected, "overlay copy-up: \(bytes(r)) bytes, expected K×S = \(expected)")
    }

    /// A reflinked instance shares the image's extents: charged only what
    /// copy-up rewrote (xfs's CoW extent hint makes that up to 128 KiB a
    /// file), never the 24 MiB image it clones.
    @Test(arguments: ["reflink", "reflink:btrfs"])
    func reflinkIsChargedTheRewrittenExtentsNotTheImage(_ driver: String) throws {
        let k = 4
        let r = try run(driver, .copyUp(count: k))
        #expect(bytes(r) > 0 && bytes(r) < Double(k * (256 << 10)) + 256 * 1024,
                "\(driver) copy-up: \(bytes(r)) bytes, image \(r.imageBytes)")
        let idle = try run(driver, .start)
        #expect(bytes(idle) < 0.05 * r.imageBytes, "\(driver) start: \(bytes(idle)) bytes of a \(r.imageBytes)-byte image")
    }

    /// The remap chown touches every file: plain overlay copies every
    /// file's data up (the image, as du counts it), metacopy=on only its
    /// metadata.
    @Test func chownCopiesTheImageUpUnlessMetacopy() throws {
        let whole = try run("overlay", .chown(shift: 100_000))
        #expect(abs(bytes(whole) - whole.imageBytes) <= 0.1 * whole.imageBytes,
                "overlay chown: \(bytes(whole)) bytes, du of the image \(whole.imageBytes)")
        let meta = try run("overlay:metacopy=on", .chown(shift: 100_000))
        #expect(bytes(meta) < 0.1 * whole.imageBytes, "metacopy chown: \(bytes(meta)) bytes")
        #expect(meta.rows.allSatisfy { ($0.run ?? 0) > 0 }, "the chown is timed into run")
    }

    @Test func copyUpOnBtrfsCostsOnlyTheChangedExtents() throws {
        let k = 4, whole = Double(k * Self.fileSize)
        let r = try run("btrfs", .copyUp(count: k))
        #expect(bytes(r) > 0 && bytes(r) < 0.1 * whole, "btrfs copy-up: \(bytes(r)) bytes, want >0 and <10% of \(whole)")
    }

    @Test func copyUpOnCopyCostsTheImage() throws {
        let r = try run("copy", .copyUp(count: 4))
        #expect(bytes(r) >= 0.95 * r.imageBytes && bytes(r) <= 1.1 * r.imageBytes,
                "copy: \(bytes(r)) bytes per instance, image \(r.imageBytes) by du")
    }

    @Test(arguments: ["overlay", "btrfs", "copy"])
    func writingFourKiBFilesCostsWhatWasWritten(_ driver: String) throws {
        let n = 200, written = Double(n * 4096)
        let r = try run(driver, .write(files: n, fileSize: 4096))
        let b = bytes(r)
        switch driver {
        case "overlay": #expect(abs(b - written) <= 0.1 * written, "overlay: \(b) bytes for \(written) written")
        case "btrfs": #expect(b >= written && b <= 2 * written, "btrfs: \(b) bytes for \(written) written (DUP metadata allowed)")
        default: #expect(abs(b - (r.imageBytes + written)) <= 0.1 * (r.imageBytes + written),
                         "copy: \(b) bytes, image \(r.imageBytes) + \(written) written")
        }
        #expect(r.rows.allSatisfy { ($0.addedBytes != nil) == $0.probe }, "only probes carry a space figure")
        if driver == "btrfs" {
            #expect(r.summary.inodesPerInstance == nil && r.rows.allSatisfy { $0.addedInodes == nil }, "btrfs inodes are unknown, not 0")
        } else {
            #expect((r.summary.inodesPerInstance ?? 0) >= Double(n), "\(n) files are at least \(n) inodes")
        }
    }

    @Test func parallelInstancesDoNotMixTheirSpace() throws {
        let w = Workload.write(files: 50, fileSize: 4096)
        let one = try run("overlay", w, instances: 24, usageEvery: 4, block: 24)
        let eight = try run("overlay", w, instances: 24, parallel: 8, usageEvery: 4, block: 24)
        #expect(abs(bytes(eight) - bytes(one)) <= 0.2 * bytes(one), "P=8 \(bytes(eight)) against P=1 \(bytes(one)) bytes per instance")
    }

    /// btrfs's destroy leaves the cleaner's work; settling between blocks
    /// means no instance's figure absorbs another's deferred frees, and the
    /// filesystem does not creep up over a run of destroyed instances.
    @Test func btrfsDeferredFreesLandInSettleNotInLaterRows() throws {
        let r = try run("btrfs", .write(files: 20, fileSize: 4096), instances: 30, usageEvery: 5, block: 10)
        let probes = r.rows.filter(\.probe)
        let used = probes.compactMap { $0.filesystem?.usedBytes }
        #expect(used.count == 6)
        if let first = used.first, let last = used.last {
            #expect(Int64(last) - Int64(first) < 1 << 20, "fs used crept from \(first) to \(last) over destroyed instances")
        }
        #expect(probes.allSatisfy { ($0.addedBytes ?? 0) > 0 }, "no probe absorbed an earlier instance's frees")
        #expect(r.summary.blocks.count == 3 && r.summary.blocks.allSatisfy { $0.settleSeconds > 0 })
    }
}

