import CowbenchHarness
import Foundation

/// The report as Markdown, for pasting into an issue or a pull request.
/// Deterministic: the same CSVs give the same bytes.
public enum MarkdownReport {
    public static func render(_ data: ReportData) -> String {
        var out = "# cowbench results\n"
        for runs in ReportGroups.comparisons(data) {
            let e = runs[0].environment
            let summaries = runs.map(\.summary)
            out += "\n## \(e.workload) on \(e.image), \(e.mode)\n\n"
            out += "Run \(e.runID) on \(e.host), kernel \(e.kernel), cowbench \(e.version).\n\n"
            out += ReportTables.phases(summaries).markdown + "\n" + ReportTables.drivers(summaries).markdown
            let teardown = summaries.compactMap { s in s.teardownSeconds.map { "\(s.environment.driver) \(TerminalTable.duration($0))" } }
            if !teardown.isEmpty { out += "\nDestroying every kept instance at the end took: \(teardown.joined(separator: ", ")).\n" }
            let verdicts = Verdicts.lines(summaries)
            if !verdicts.isEmpty { out += "\n" + verdicts.map { "- \($0)\n" }.joined() }
        }
        for h in HostComparison.all(data) {
            out += "\n## Hosts compared: \(h.title)\n\n" + h.table.markdown
            if !h.verdicts.isEmpty { out += "\n" + h.verdicts.map { "- \($0)\n" }.joined() }
        }
        for x in data.exhaustions {
            let e = x.environment
            out += "\n## Running out of space: \(e.driver) on \(x.samples.first.map { ReportTables.mib($0.fsSize) } ?? "?") \(e.fsType)\n\n"
            out += "Run \(e.runID) on \(e.host), kernel \(e.kernel), cowbench \(e.version); `\(x.mkfs)`, mounted `\(e.mountOptions)`"
                + (x.reclaim.isEmpty ? "" : "; \(x.reclaim)") + ". Workload \(e.workload), \(e.mode).\n\n"
            out += ReportTables.exhaustion(x).markdown
        }
        if !data.claims.isEmpty {
            out += "\n## \(ReportTables.claimsHeading(data.claims))\n\n" + ReportTables.claims(data.claims).markdown
        }
        if !data.baselines.isEmpty {
            out += "\n## What cowbench adds: medians against a C loop and a shell loop\n\n" + ReportTables.baseline(data.baselines).markdown
        }
        return out
    }
}
