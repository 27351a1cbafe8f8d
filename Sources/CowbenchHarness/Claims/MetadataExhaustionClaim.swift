import CowbenchCore

/// Many instances with small writes fill btrfs's metadata chunks; once no
/// unallocated space is left for another, writes fail with ENOSPC while df,
/// which counts free data space, still shows room.
struct MetadataExhaustionClaim: ClaimCheck {
    let id = "metadata-enospc"
    let claim = "On btrfs, many instances with small writes run out of metadata space while df shows free space"
    let source = "Docker docs: BTRFS storage driver, Performance (small writes) and known issues (moby#27653)"
    static let minimumFree = 0.10
    let threshold = "a short `exhaust` (512M btrfs, data fragmented first) fails with ENOSPC classified as metadata while df shows at least 10% available"

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        let run = Exhaustion(configuration: ExhaustConfiguration(), stateDirectory: context.stateDirectory,
                             runID: "\(context.runID)-\(id)", version: context.version)
        let outcome = try run.run(onSample: { _, _ in }, progress: { context.status("claim \(id): \($0)") })
        try StopRequest.check("claim \(id)")
        guard let failure = outcome.failure else {
            return ([ClaimFigure("instances without ENOSPC", Double(outcome.instancesCreated), .count)], .doesNotHold)
        }
        let fs = failure.sample.filesystem
        let free = fs.totalBytes > 0 ? Double(fs.availableBytes) / Double(fs.totalBytes) : 0
        var figures = [
            ClaimFigure("ENOSPC at instance", Double(failure.instance), .count),
            ClaimFigure.outcome("classified", failure.classification.rawValue),
            ClaimFigure("df available", free * 100, .percent),
        ]
        if let b = failure.sample.btrfs {
            figures += [ClaimFigure("metadata used", Double(b.metadataUsed), .bytes), ClaimFigure("metadata total", Double(b.metadataTotal), .bytes),
                        ClaimFigure("unallocated", Double(b.unallocated), .bytes)]
        }
        return (figures, Self.judge(classification: failure.classification, availableFraction: free))
    }

    static func judge(classification: ExhaustClass, availableFraction: Double) -> ClaimJudgement {
        classification == .metadata && availableFraction >= minimumFree ? .holds : .doesNotHold
    }
}
