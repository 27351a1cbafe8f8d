import CowbenchCore

/// btrfs checksums and copies on write every data block, which the docs say
/// makes its sequential writes slower than ext4's.
struct SequentialWriteClaim: ClaimCheck {
    let id = "seq-write"
    let claim = "Sequential writes inside an instance are slower on btrfs than on overlay over ext4 (the docs say up to 50%)"
    let source = "Docker docs: BTRFS storage driver, Performance (sequential writes)"
    static let bytes = 128 << 20
    static let instances = 16
    var threshold: String {
        "writing and fsyncing \(Self.bytes >> 20) MiB in each of \(Self.instances) instances: btrfs's run median over overlay's, "
            + "its whole 95% interval above 1 (at or below 1: does not hold)"
    }

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        let configs = ["overlay", "btrfs"].map {
            ClaimContext.configuration($0, image: "busybox", workload: .seqWrite(bytes: Self.bytes), instances: Self.instances, block: 4)
        }
        let summaries = try context.measure(id, configs)
        let runs = try summaries.map { s in
            guard let e = s.phases[.run]?.medianEstimate, e.value > 0 else { throw SetupError("\(s.environment.driver): no run phase measured") }
            return e
        }
        guard let ratio = runs[1].ratio(to: runs[0]) else { throw SetupError("overlay's run took no time") }
        var figures = zip(summaries, runs).map { ClaimFigure("\($0.environment.driver) write+fsync", Double(Self.bytes) / $1.value, .bytesPerSecond) }
        figures.append(ClaimFigure("btrfs time / overlay time", ratio, .ratio))
        return (figures, Self.judge(ratio: ratio))
    }

    static func judge(ratio: Estimate) -> ClaimJudgement { Claims.exceeds(ratio, 1, claim: "seq-write") }
}
