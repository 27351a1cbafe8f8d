import CowbenchCore

/// Overlay's instances read the image through the same lower inodes, so
/// they share one page cache; a snapshot's or a copy's files are inodes of
/// their own, each cached again.
struct PageCacheClaim: ClaimCheck {
    let id = "page-cache"
    let claim = "Overlay instances share the page cache of the image's files; btrfs snapshots and copies do not"
    let source = "Docker docs: OverlayFS storage driver, Performance (page caching); BTRFS storage driver, Performance"
    static let live = 8
    static let readBytes = 32 << 20
    var threshold: String {
        "\(Self.live) live instances each read the same 32 MiB: overlay adds under 10% of it per instance, btrfs and copy over 50%"
    }

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        // One generated layer of 32 files of 1 MiB on busybox; every file is read.
        let image = "synthetic:layers=2,files=32,sizes=1m,delete=0,overwrite=0"
        let configs = ["overlay", "btrfs", "copy"].map { driver in
            var c = ClaimContext.configuration(driver, image: image, workload: .read(limit: Workload.defaultReadLimit),
                                               instances: Self.live, block: Self.live)
            c.keep = true
            return c
        }
        let summaries = try context.measure(id, configs)
        let per = try summaries.map { s in
            guard let m = s.memoryPerInstance, s.liveInstances > 0 else {
                throw SetupError("no memory figure for \(s.environment.driver): this host has no memory cgroup controller cowbench can use "
                    + "(memory_cgroup=\(s.environment.memoryCgroup))")
            }
            return m.value
        }
        let figures = zip(summaries, per).map { ClaimFigure("\($0.environment.driver) per live instance", $1, .bytes) }
        return (figures, Self.judge(overlay: per[0], btrfs: per[1], copy: per[2], readBytes: Double(Self.readBytes)))
    }

    static func judge(overlay: Double, btrfs: Double, copy: Double, readBytes: Double) -> ClaimJudgement {
        overlay < 0.1 * readBytes && btrfs > 0.5 * readBytes && copy > 0.5 * readBytes ? .holds : .doesNotHold
    }
}
