import CowbenchHarness

/// The claims as the terminal shows them: a verdict and the claim, then
/// what was measured against what it had to show.
public enum ClaimsTable {
    public static func render(_ results: [ClaimResult]) -> String {
        let width = ClaimVerdict.allCases.map(\.rawValue.count).max() ?? 0
        var out = ""
        for r in results {
            let pad = String(repeating: " ", count: width + 2)
            out += r.verdict.rawValue.padding(toLength: width + 2, withPad: " ", startingAt: 0) + "\(r.claim) [\(r.id)]\n"
            if let reason = r.reason { out += pad + "why: \(reason)\n" }
            if !r.figures.isEmpty { out += pad + "measured: \(ClaimsCSV.measured(r.figures))\n" }
            out += pad + "threshold: \(r.threshold)\n"
            out += pad + "source: \(r.source)\n"
        }
        let counts = ClaimVerdict.allCases.map { v in (v, results.filter { $0.verdict == v }.count) }.filter { $0.1 > 0 }
        out += counts.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ") + "\n"
        return out
    }
}
