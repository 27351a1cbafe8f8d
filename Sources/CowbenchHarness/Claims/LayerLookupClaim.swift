import CowbenchCore

/// A lookup in a fresh overlay mount asks each layer in turn, top first, so
/// a file of the bottom layer costs more the more layers sit above it; but
/// only the layers that have its directory, so the image puts every
/// layer's files in the same four directories under /data (`depth=1`),
/// with 48 a layer so that each layer has all four.
struct LayerLookupClaim: ClaimCheck {
    let id = "layer-lookup"
    let claim = "Overlay lookups slow down with many layers"
    let source = "kernel docs: overlayfs.rst, Multiple lower layers; Docker docs: OverlayFS storage driver, Performance"
    static let layers = [1, 100, 500]
    static let lookups = 256
    static let factor = 1.25
    var threshold: String {
        "looking up \(Self.lookups) entries of the lowest layers, under directories every layer above has, in a fresh mount: the run's median at 500 layers is at least "
            + "\(Self.factor)× that at 1 layer, over its whole 95% interval (wholly below: does not hold)"
    }

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        var runs: [Estimate] = []
        for n in Self.layers {
            context.status("claim \(id): \(n) layer\(n == 1 ? "" : "s")")
            let c = ClaimContext.configuration("overlay", image: Self.image(layers: n),
                                               workload: .stat(count: Self.lookups), instances: 30, block: 10)
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

    static func image(layers: Int) -> String { "synthetic:layers=\(layers),files=48,depth=1,sizes=1k" }

    static func judge(ratio: Estimate) -> ClaimJudgement { Claims.exceeds(ratio, factor, claim: "layer-lookup") }
}
