import CowbenchHarness
import Foundation

/// The comparison lines under a table: each ratio with its 95% interval, and
/// benchstat's `~` for a difference the interval cannot tell from none.
public enum Verdicts {
    struct Figure: Sendable {
        let noun: String
        let name: String
        let verb: String
        let adverb: String
        let value: @Sendable (RunSummary) -> Estimate?
    }

    static let figures: [Figure] = [
        Figure(noun: "sustained cost", name: "sustained, deferred work included", verb: "costs a host", adverb: "less per instance than") { $0.sustained },
        Figure(noun: "create", name: "median", verb: "creates instances", adverb: "faster than") { s in s.phases[.create]!.count > 0 ? s.phases[.create]!.medianEstimate : nil },
        Figure(noun: "destroy", name: "median", verb: "destroys instances", adverb: "faster than") { s in s.phases[.destroy]!.count > 0 ? s.phases[.destroy]!.medianEstimate : nil },
    ]

    public static func lines(_ summaries: [RunSummary]) -> [String] {
        guard summaries.count > 1 else { return [] }
        var lines: [String] = []
        for f in figures {
            let ranked = summaries.compactMap { s in f.value(s).map { (s.environment.driver, $0) } }.sorted { $0.1.value < $1.1.value }
            guard let (best, bestValue) = ranked.first, ranked.count > 1, bestValue.value > 0 else { continue }
            var wins: [String] = [], ties: [String] = []
            for (driver, e) in ranked.dropFirst() {
                guard let r = e.ratio(to: bestValue) else { continue }
                if r.excludes(1) {
                    wins.append("\(ratio(r)) \(f.adverb) \(driver)")
                } else if r.interval == nil {
                    ties.append(String(format: "%@ against %@ in %@: %.2f×, too few samples to tell", driver, best, f.noun, r.value))
                } else {
                    ties.append("\(driver) ~ \(best) in \(f.noun) (\(ratio(r)), no significant difference)")
                }
            }
            var line = wins.isEmpty ? "" : "\(best) \(f.verb) \(wins.joined(separator: " and ")) (\(f.name))"
            if !ties.isEmpty { line += (line.isEmpty ? "" : "; ") + ties.joined(separator: "; ") }
            lines.append(line)
        }
        return lines
    }

    /// "3.20× [2.90×–3.50×]".
    static func ratio(_ r: Estimate) -> String {
        guard let i = r.interval else { return String(format: "%.2f×", r.value) }
        return String(format: "%.2f× [%.2f×–%.2f×]", r.value, i.lowerBound, i.upperBound)
    }
}
