import CowbenchHarness
import Foundation

/// Go's benchmark text format, so `benchstat` reads cowbench results
/// directly: one line per timed instance and phase, and one per block for
/// sustained cost, under `key: value` configuration lines.
public enum GoBenchFormat {
    public static func render(_ data: ReportData) -> String {
        var out = ""
        var lastHeader = ""
        for run in data.runs {
            let e = run.environment
            let header = "goos: linux\nhost: \(e.host)\nkernel: \(e.kernel)\ncowbench: \(e.version)\npkg: cowbench\n"
            if header != lastHeader { out += header; lastHeader = header }
            let name = "driver=\(clean(e.driver))/image=\(clean(e.image))/workload=\(clean(e.workload))/mode=\(e.mode)"
            for b in RunDiff.blockSamples(run) { out += "BenchmarkSustained/\(name) 1 \(ns(b)) ns/op\n" }
            for p in Phase.allCases {
                let title = p.rawValue.prefix(1).uppercased() + p.rawValue.dropFirst()
                for v in RunDiff.phaseSamples(run, p) { out += "Benchmark\(title)/\(name) 1 \(ns(v)) ns/op\n" }
            }
        }
        return out
    }

    static func ns(_ s: Double) -> String { String(format: "%.0f", s * 1e9) }

    /// Benchmark names end at whitespace; keep them to one token.
    static func clean(_ s: String) -> String { String(s.map { $0.isWhitespace ? "_" : $0 }) }
}
