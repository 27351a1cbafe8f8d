import CowbenchCore

/// Overlay's instances read the image through the same lower inodes, so
/// they share one page cache; a snapshot's, a copy's or a clone's files
/// are inodes of their own, and each FUSE mount caches its own pages, so
/// those are cached again per instance. Every driver available here is
/// judged by what its capabilities declare (`cowbench drivers`).
struct PageCacheClaim: ClaimCheck {
    let id = "page-cache"
    let claim = "Overlay instances share the page cache of the image's files; btrfs snapshots, copies, reflink clones and fuse-overlayfs do not"
    let source = "Docker docs: OverlayFS storage driver, Performance (page caching); BTRFS storage driver, Performance; fuse-overlayfs#390"
    static let live = 8
    static let readBytes = 32 << 20
    /// Drivers the claim needs; the others take part where they work here.
    static let required = ["overlay", "btrfs", "copy"]
    var threshold: String {
        "\(Self.live) live instances each read the same 32 MiB: a driver declared sharing adds under 10% of it per instance, any other over 50%"
    }

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        // One generated layer of 32 files of 1 MiB on busybox; every file is read.
        let image = "synthetic:layers=2,files=32,sizes=1m,delete=0,overwrite=0"
        let drivers = DriverRegistry.all.filter { Self.required.contains($0.name) || DriverRegistry.availability(of: $0).works }
        let configs = drivers.map { driver in
            var c = ClaimContext.configuration(driver.name, image: image, workload: .read(limit: Workload.defaultReadLimit),
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
        let declared = zip(drivers, per).map { (shares: $0.capabilities(DriverOptions()).sharesPageCache, bytes: $1) }
        return (figures, Self.judge(declared, readBytes: Double(Self.readBytes)))
    }

    /// Each driver's memory per live instance against what it declares.
    static func judge(_ drivers: [(shares: Bool, bytes: Double)], readBytes: Double) -> ClaimJudgement {
        drivers.allSatisfy { $0.shares ? $0.bytes < 0.1 * readBytes : $0.bytes > 0.5 * readBytes } ? .holds : .doesNotHold
    }
}
