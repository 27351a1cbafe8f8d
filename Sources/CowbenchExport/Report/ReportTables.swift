import CowbenchCore
import CowbenchHarness
import Foundation

/// The report's tables as rows of text, shared by the Markdown and HTML
/// renderers so both say the same thing.
struct ReportTable {
    var header: [String]
    /// true for right-aligned (numeric) columns.
    var numeric: [Bool]
    var rows: [[String]]

    var markdown: String {
        "| " + header.joined(separator: " | ") + " |\n|" + numeric.map { $0 ? "--:|" : "---|" }.joined() + "\n"
            + rows.map { "| " + $0.joined(separator: " | ") + " |\n" }.joined()
    }

    var html: String {
        func cells(_ row: [String], _ tag: String) -> String {
            zip(row, numeric).map { "<\(tag)\($0.1 ? " class=\"n\"" : "")>\(HTML.escape($0.0))</\(tag)>" }.joined()
        }
        return "<table><thead><tr>\(cells(header, "th"))</tr></thead><tbody>"
            + rows.map { "<tr>\(cells($0, "td"))</tr>" }.joined() + "</tbody></table>\n"
    }
}

enum ReportTables {
    /// The docs' claims with their verdicts; a "cannot test here" gives its
    /// reason after the numbers, or in their place.
    static func claims(_ rows: [ReportData.ClaimRow]) -> ReportTable {
        ReportTable(header: ["verdict", "claim", "measured", "threshold", "source"], numeric: [false, false, false, false, false],
                    rows: rows.map { r in
                        let why = r.reason.isEmpty ? r.measured : r.measured.isEmpty ? r.reason : "\(r.measured); why: \(r.reason)"
                        return [r.verdict, r.claim, why, r.threshold, r.source]
                    })
    }

    /// "The documentation's claims, measured on HOST (kernel K)".
    static func claimsHeading(_ rows: [ReportData.ClaimRow]) -> String {
        let hosts = Set(rows.map { "\($0.host) (kernel \($0.kernel))" }).sorted()
        return "The documentation's claims, measured on " + hosts.joined(separator: ", ")
    }

    static func phases(_ summaries: [RunSummary]) -> ReportTable {
        var t = ReportTable(header: ["driver", "phase", "p50", "95% CI of p50", "p90", "p99", "max"],
                            numeric: [false, false, true, true, true, true, true], rows: [])
        for s in summaries {
            if let v = s.sustained {
                t.rows.append([s.environment.driver, "sustained", TerminalTable.duration(v.value), TerminalTable.interval(v), "", "", ""])
            }
            for p in Phase.allCases {
                let st = s.phases[p]!
                guard st.count > 0 else { continue }
                let m = st.medianEstimate
                t.rows.append([s.environment.driver, p.rawValue, TerminalTable.duration(m.value), TerminalTable.interval(m)]
                              + [st.percentile(90), st.percentile(99), st.max].map(TerminalTable.duration))
            }
        }
        return t
    }

    static func drivers(_ summaries: [RunSummary]) -> ReportTable {
        ReportTable(header: ["driver", "instances", "failures", "sustained per instance", "bytes per instance", "inodes per instance",
                             "drift", "scratch fs"],
                    numeric: [false, true, true, true, true, true, true, false],
                    rows: summaries.map { s in
                        [s.environment.driver, "\(s.instances)", "\(s.failures)",
                         s.sustained.map { TerminalTable.duration($0.value) } ?? "–",
                         s.bytesPerInstance.map(ByteSize.format) ?? "–",
                         s.inodesPerInstance.map { String(format: "%.1f", $0) } ?? "n/a (\(s.environment.filesystem) has no inode count)",
                         s.drift.map { String(format: "%+.0f%%", $0.value * 100) + ($0.excludes(0) ? "" : " ~") } ?? "–",
                         s.environment.filesystem]
                    })
    }

    static func exhaustion(_ x: ReportData.Exhaustion) -> ReportTable {
        ReportTable(header: ["step", "instance", "errno", "classification", "seconds", "df available", "data used/total",
                             "metadata used/total", "unallocated", "helped"],
                    numeric: [false, true, false, false, true, true, true, true, true, false],
                    rows: x.steps.map { s in
                        let sp = s.space
                        return [s.step, s.instance, s.errno, s.classification, s.seconds.map { String(format: "%.2f", $0) } ?? "",
                                sp.map { mib($0.dfAvail) } ?? "",
                                sp.flatMap { p in p.dataUsed.map { "\(mib($0, unit: false))/\(mib(p.dataTotal ?? 0))" } } ?? "",
                                sp.flatMap { p in p.metaUsed.map { "\(mib($0, unit: false))/\(mib(p.metaTotal ?? 0))" } } ?? "",
                                sp.flatMap { $0.unallocated.map { mib($0) } } ?? "", s.helped]
                    })
    }

    static func baseline(_ rows: [ReportData.BaselineRow]) -> ReportTable {
        ReportTable(header: ["driver", "phase", "raw C", "cowbench", "cowbench/raw", "shell loop"],
                    numeric: [false, false, true, true, true, true],
                    rows: rows.map { r in
                        [r.driver, r.phase, r.rawSeconds.map(TerminalTable.duration) ?? "", r.cowbenchSeconds.map(TerminalTable.duration) ?? "",
                         r.ratio.map { String(format: "%.2f×", $0) } ?? "", r.shellSeconds.map(TerminalTable.duration) ?? ""]
                    })
    }

    static func mib(_ v: Int64, unit: Bool = true) -> String { "\(v >> 20)" + (unit ? " MiB" : "") }
}

/// How runs are grouped for reports: the drivers of one comparison share a
/// run id, image, workload and mode.
enum ReportGroups {
    static func comparisons(_ data: ReportData) -> [[ReportData.DriverRun]] {
        var order: [String] = []
        var groups: [String: [ReportData.DriverRun]] = [:]
        for r in data.runs {
            let e = r.environment
            let key = [e.runID, e.image, e.workload, e.mode].joined(separator: "\u{1f}")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(r)
        }
        return order.map { groups[$0]! }
    }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
