import CowbenchCore

/// Overlay copies a lower file up whole on its first write; a btrfs
/// snapshot shares extents and rewrites only the block that changed.
struct CopyUpClaim: ClaimCheck {
    let id = "copy-up"
    let claim = "Overlay copies up the whole file on its first write; btrfs copies only the changed extents"
    let source = "Docker docs: OverlayFS storage driver, Modifying files (copy_up); BTRFS storage driver, Writing files"
    static let fileBytes = 64 << 20
    let threshold = "after 1 byte of a 64 MiB image file changes: overlay's instance holds at least 90% of the file, btrfs's at most 5%"

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        let image = "synthetic:layers=2,files=1,sizes=64m,delete=0,overwrite=0"
        let configs = ["overlay", "btrfs"].map { driver in
            var c = ClaimContext.configuration(driver, image: image, workload: .copyUp(count: 1), instances: 6, block: 6)
            c.usageEvery = 1 // every instance is a space probe: settled, run alone, flushed, walked
            return c
        }
        let summaries = try context.measure(id, configs)
        let bytes = try summaries.map { s in
            guard let b = s.bytesPerInstance else { throw SetupError("\(s.environment.driver): no space probe completed") }
            return b
        }
        let figures = zip(summaries, bytes).map { ClaimFigure("\($0.environment.driver) per instance", $1, .bytes) }
        return (figures, Self.judge(overlay: bytes[0], btrfs: bytes[1], fileBytes: Double(Self.fileBytes)))
    }

    static func judge(overlay: Double, btrfs: Double, fileBytes: Double) -> ClaimJudgement {
        overlay >= 0.9 * fileBytes && btrfs <= 0.05 * fileBytes ? .holds : .doesNotHold
    }
}
