import CowbenchCore
import CowbenchHarness
import Foundation

/// The side-by-side table printed at the end of `run` and `compare`:
/// sustained cost first, every median with its interval, then the verdicts.
public enum TerminalTable {
    public static func render(_ summaries: [RunSummary]) -> String {
        var out = ""
        for s in summaries {
            let e = s.environment
            out += "\(e.driver) — \(e.image), \(e.workload), \(e.mode), \(s.instances) instances in \(s.blocks.count) "
                + "block\(s.blocks.count == 1 ? "" : "s") of up to \(e.block) on \(e.filesystem)\n"
            out += "  " + sustainedLine(s) + "\n"
            // Wide enough for the widest interval, so "[178.52 ms, 217.06 ms]" is never cut.
            let measured = Phase.allCases.filter { s.phases[$0]!.count > 0 }
            let width = max(20, measured.map { interval(s.phases[$0]!.medianEstimate).count + 1 }.max() ?? 0)
            out += "  phase         p50   95% CI of p50" + String(repeating: " ", count: width - 5) + "p90        p99        max\n"
            for p in measured {
                let st = s.phases[p]!
                let m = st.medianEstimate
                out += "  " + p.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + duration(m.value).leftPad(9)
                    + "   " + interval(m).padding(toLength: width, withPad: " ", startingAt: 0)
                    + [st.percentile(90), st.percentile(99), st.max].map { duration($0).leftPad(11) }.joined() + "\n"
            }
            out += "  " + spaceLine(s) + "\n"
            if let m = memoryLine(s) { out += "  " + m + "\n" }
            if let t = s.teardownSeconds { out += "  destroying all kept instances and settling took \(duration(t))\n" }
            if let d = s.drift { out += "  " + driftLine(d) + "\n" }
            if let err = s.firstError { out += "  first error: \(err)\n" }
            for w in s.warnings { out += "  warning: \(w)\n" }
            out += "\n"
        }
        out += Verdicts.lines(summaries).map { $0 + "\n" }.joined()
        return out
    }

    static func sustainedLine(_ s: RunSummary) -> String {
        guard let v = s.sustained else { return "sustained: no instance completed" }
        return "sustained \(duration(v.value)) per instance \(interval(v)), settle \(duration(s.settleSeconds)) in all"
    }

    static func spaceLine(_ s: RunSummary) -> String {
        let failures = "\(s.failures) failure\(s.failures == 1 ? "" : "s")"
        guard let bytes = s.bytesPerInstance else { return "space: no probe completed; \(failures)" }
        let inodes = s.inodesPerInstance.map { String(format: "%.1f inodes", $0) } ?? "inodes n/a (\(s.environment.filesystem) has no inode count)"
        return "space per instance: \(ByteSize.format(bytes)), \(inodes) (mean of \(s.probes) probes, settled and flushed); \(failures)"
    }

    /// Memory per live instance, said the way it was measured.
    static func memoryLine(_ s: RunSummary) -> String? {
        guard let m = s.memoryPerInstance else { return nil }
        let cg = "memory cgroup \(s.environment.memoryCgroup)"
        if s.liveInstances > 0, let total = s.memoryTotalBytes {
            return "memory per live instance: \(ByteSize.format(m.value)) (\(ByteSize.format(Double(total))) with \(s.liveInstances) live, "
                + "page cache included; \(cg))"
        }
        let i = m.interval.map { "[\(ByteSize.format($0.lowerBound)), \(ByteSize.format($0.upperBound))]" } ?? "(too few probes for a CI)"
        return "memory one more live instance adds: \(ByteSize.format(m.value)) \(i) (median of \(s.probeMemory.count) probes; \(cg))"
    }

    static func driftLine(_ d: Estimate) -> String {
        let i = d.interval.map { String(format: " [%+.0f%%, %+.0f%%]", $0.lowerBound * 100, $0.upperBound * 100) } ?? ""
        return String(format: "drift: %+.0f%% from the first block to the last%@%@", d.value * 100, i, d.excludes(0) ? "" : " ~")
    }

    /// "[402 µs, 431 µs]", or "(n too small)" without an interval.
    static func interval(_ e: Estimate) -> String {
        guard let i = e.interval else { return "(too few for a CI)" }
        return "[\(duration(i.lowerBound)), \(duration(i.upperBound))]"
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
