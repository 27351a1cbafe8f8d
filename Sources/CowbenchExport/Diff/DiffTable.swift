import Foundation

/// `cowbench diff` as text (benchstat's layout), Markdown or JSON.
public enum DiffTable {
    public static func text(_ d: RunDiff) -> String {
        var rows = [["driver", "workload", "figure", "old", "new", "change", "p"]]
        for r in d.rows { rows.append(cells(r)) }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        var out = rows.map { row in
            row.enumerated().map { c, v in c >= 3 ? v.leftPad(widths[c]) : v.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
        out += footer(d)
        return out
    }

    public static func markdown(_ d: RunDiff) -> String {
        let t = ReportTable(header: ["driver", "workload", "figure", "old", "new", "change", "p"],
                            numeric: [false, false, false, true, true, true, true], rows: d.rows.map(cells))
        return "# cowbench diff\n\n" + t.markdown + "\n" + footer(d)
    }

    public static func json(_ d: RunDiff) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(d)) ?? Data(), as: UTF8.self) + "\n"
    }

    static func cells(_ r: RunDiff.Row) -> [String] {
        func side(_ m: Double, _ lo: Double?, _ hi: Double?) -> String {
            let i = lo.flatMap { l in hi.map { "[\(TerminalTable.duration(l)), \(TerminalTable.duration($0))]" } } ?? "(no CI)"
            return "\(TerminalTable.duration(m)) \(i)"
        }
        return [r.driver, r.workload, r.figure, side(r.oldMedian, r.oldLow, r.oldHigh), side(r.newMedian, r.newLow, r.newHigh),
                r.significant ? String(format: "%+.1f%%", r.change * 100) : "~",
                r.p.map { String(format: "p=%.3f n=%d+%d", $0, r.oldSamples, r.newSamples) } ?? "n/a"]
    }

    static func footer(_ d: RunDiff) -> String {
        var out = String(format: "~: not significant at p < %.2f", d.alpha)
            + (d.threshold > 0 ? String(format: ", or a change under %.0f%%", d.threshold * 100) : "") + " (Mann–Whitney U)\n"
        for n in d.notes { out += "note: \(n)\n" }
        for u in d.unmatched { out += "only on one side, not compared: \(u)\n" }
        switch d.outcome {
        case .noChange: out += "no significant change\n"
        case .regression: out += "regression: at least one figure got significantly slower\n"
        case .improvement: out += "improvement: figures only got faster\n"
        }
        return out
    }
}
