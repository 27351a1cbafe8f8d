import CowbenchCore
import CowbenchHarness
import Foundation

/// The side-by-side table printed at the end of `run` and `compare`, with a
/// hyperfine-style verdict line.
public enum TerminalTable {
    public static func render(_ summaries: [RunSummary]) -> String {
        var out = ""
        for s in summaries {
            let e = s.environment
            out += "\(e.driver) — \(e.image), \(e.workload), \(e.mode), \(s.instances) instances on \(e.filesystem)\n"
            out += "  phase        p50        p90        p99        max\n"
            for p in Phase.allCases {
                let st = s.phases[p]!
                guard st.count > 0 else { continue }
                out += "  " + p.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                    + [st.percentile(50), st.percentile(90), st.percentile(99), st.max].map { duration($0).leftPad(11) }.joined() + "\n"
            }
            out += String(format: "  %.1f instances/s, %@ and %.1f inodes per instance, %d failures\n",
                          s.instancesPerSecond, ByteSize.format(s.bytesPerInstance), s.inodesPerInstance, s.failures)
            if let t = s.teardownSeconds { out += String(format: "  destroying all kept instances took %@\n", duration(t)) }
            if let err = s.firstError { out += "  first error: \(err)\n" }
            out += "\n"
        }
        out += verdicts(summaries).map { $0 + "\n" }.joined()
        return out
    }

    /// "overlay creates instances 12.4× faster than copy", per phase that differs.
    public static func verdicts(_ summaries: [RunSummary]) -> [String] {
        guard summaries.count > 1 else { return [] }
        var lines: [String] = []
        for (phase, verb) in [(Phase.create, "creates instances"), (.destroy, "destroys instances")] {
            let ranked = summaries.filter { $0.phases[phase]!.count > 0 }.sorted { $0.phases[phase]!.median < $1.phases[phase]!.median }
            guard let best = ranked.first, ranked.count > 1, best.phases[phase]!.median > 0 else { continue }
            let rest = ranked.dropFirst().map { s in
                String(format: "%.1f× faster than %@", s.phases[phase]!.median / best.phases[phase]!.median, s.environment.driver)
            }
            lines.append("\(best.environment.driver) \(verb) \(rest.joined(separator: " and ")) (median)")
        }
        let byRate = summaries.sorted { $0.instancesPerSecond > $1.instancesPerSecond }
        if let best = byRate.first, let worst = byRate.last, worst.instancesPerSecond > 0 {
            lines.append(String(format: "%@ runs %.1f× as many instances per second as %@", best.environment.driver,
                                best.instancesPerSecond / worst.instancesPerSecond, worst.environment.driver))
        }
        return lines
    }

    static func duration(_ s: Double) -> String {
        switch s {
        case ..<1e-3: String(format: "%.0f µs", s * 1e6)
        case ..<1: String(format: "%.2f ms", s * 1e3)
        default: String(format: "%.2f s", s)
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
