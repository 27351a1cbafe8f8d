import CowbenchCore

/// A lookup in a fresh overlay mount asks each layer in turn, top first, so
/// a file of the bottom layer costs more the more layers sit above it.
struct LayerLookupClaim: ClaimCheck {
    let id = "layer-lookup"
    let claim = "Overlay lookups slow down with many layers"
    let source = "kernel docs: overlayfs.rst, Multiple lower layers; Docker docs: OverlayFS storage driver, Performance"
    static let layers = [1, 100, 500]
    static let lookups = 256
    static let factor = 1.25
    var threshold: String {
        "looking up \(Self.lookups) bottom-layer entries in a fresh mount: the run's median at 500 layers is at least "
            + "\(Self.factor)× that at 1 layer, over its whole 95% interval"
    }

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], verdict: ClaimVerdict) {
        var runs: [Estimate] = []
        for n in Self.layers {
            context.status("claim \(id): \(n) layer\(n == 1 ? "" : "s")")
            let c = ClaimContext.configuration("overlay", image: "synthetic:layers=\(n),files=1,sizes=1k",
                                               workload: .stat(count: Self.lookups), instances: 20, block: 10)
            guard let run = try context.measure("\(id)-\(n)", [c])[0].phases[.run]?.medianEstimate else {
                throw SetupError("no run phase was measured at \(n) layers")
            }
            runs.append(run)
        }
        var figures = zip(Self.layers, runs).map { ClaimFigure("run p50 at \($0) layer\($0 == 1 ? "" : "s")", $1, .seconds) }
        guard let ratio = runs[2].ratio(to: runs[0]) else { throw SetupError("the 1-layer run took no time") }
        figures.append(ClaimFigure("500 layers / 1 layer", ratio, .ratio))
        return (figures, Self.judge(ratio: ratio))
    }

    static func judge(ratio: Estimate) -> ClaimVerdict { Claims.above(ratio, factor) ? .holds : .doesNotHold }
}
