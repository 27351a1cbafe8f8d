import CowbenchHarness
import Foundation

/// One self-contained HTML file: the report's tables and inline SVG charts,
/// no scripts and nothing fetched from anywhere.
public enum HTMLReport {
    static let palette = ["overlay": "#1f77b4", "btrfs": "#d62728", "copy": "#2ca02c"]
    static let spare = ["#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

    static func color(_ driver: String, _ i: Int) -> String { palette[driver] ?? spare[i % spare.count] }

    public static func render(_ data: ReportData) -> String {
        var body = "<h1>cowbench results</h1>\n"
        for runs in ReportGroups.comparisons(data) { body += comparison(runs) }
        for h in HostComparison.all(data) {
            body += "<h2>\(HTML.escape("Hosts compared: \(h.title)"))</h2>\n" + h.table.html
            body += "<ul>" + h.verdicts.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>\n" + h.chart
        }
        for x in data.exhaustions { body += exhaustion(x) }
        if !data.claims.isEmpty {
            body += "<h2>\(HTML.escape(ReportTables.claimsHeading(data.claims)))</h2>\n" + ReportTables.claims(data.claims).html
        }
        if !data.baselines.isEmpty {
            body += "<h2>What cowbench adds: medians against a C loop and a shell loop</h2>\n" + ReportTables.baseline(data.baselines).html
        }
        return page(title: "cowbench results", body: body)
    }

    /// A self-contained page around `body`, with the reports' one stylesheet.
    static func page(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(HTML.escape(title))</title>
        <style>
        body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
        table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
        th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; }
        .n { text-align: right; }
        svg { width: 100%; height: auto; max-width: 760px; display: block; margin: 1rem 0; font-size: 12px; }
        .chart-title { font-size: 15px; font-weight: 600; }
        .axis-label { font-size: 13px; }
        p.note { color: #555; }
        </style></head><body>
        \(body)</body></html>

        """
    }

    static func comparison(_ runs: [ReportData.DriverRun]) -> String {
        let e = runs[0].environment
        let summaries = runs.map(\.summary)
        var out = "<h2>\(HTML.escape("\(e.workload) on \(e.image), \(e.mode)"))</h2>\n"
        out += "<p class=\"note\">\(HTML.escape("Run \(e.runID) on \(e.host), kernel \(e.kernel), cowbench \(e.version)."))</p>\n"
        out += ReportTables.drivers(summaries).html
        out += "<ul>" + Verdicts.lines(summaries).map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>\n"
        for p in Phase.allCases {
            let series = runs.enumerated().compactMap { i, r -> LineChart.Series? in
                let times = r.instances.compactMap { inst -> Double? in
                    switch p {
                    case .create: inst.create
                    case .start: inst.start
                    case .run: inst.run
                    case .destroy: inst.destroy
                    }
                }.filter { $0 > 0 }.sorted()
                guard !times.isEmpty else { return nil }
                return LineChart.Series(name: r.environment.driver, color: color(r.environment.driver, i), points: cdf(times))
            }
            guard !series.isEmpty else { continue }
            out += LineChart(title: "\(p.rawValue): latency distribution (\(e.workload))", xLabel: "\(p.rawValue) time (log scale)",
                             yLabel: "instances at or below (%)", xLog: true, xFormat: Axis.duration, series: series).svg()
        }
        out += ReportTables.phases(summaries).html
        if e.mode == "accumulate" {
            let series = runs.enumerated().map { i, r in
                LineChart.Series(name: r.environment.driver, color: color(r.environment.driver, i),
                                 points: r.instances.compactMap { inst in inst.fsUsedBytes.map { (Double(inst.index + 1), Double($0) / 1_048_576) } })
            }
            out += LineChart(title: "Disk used as instances accumulate (\(e.workload) on \(e.image))", xLabel: "live instances",
                             yLabel: "scratch filesystem used (MiB)", series: series).svg()
            let memory = runs.enumerated().map { i, r in
                LineChart.Series(name: r.environment.driver, color: color(r.environment.driver, i),
                                 points: r.instances.compactMap { inst in inst.runMemoryBytes.map { (Double(inst.index + 1), Double($0) / 1_048_576) } })
            }
            if memory.contains(where: { !$0.points.isEmpty }) {
                out += LineChart(title: "Memory as instances accumulate (\(e.workload) on \(e.image))", xLabel: "live instances",
                                 yLabel: "charged to the run's memory cgroup (MiB)", series: memory).svg()
            }
        }
        return out
    }

    /// Each chart of the report as a standalone SVG file, named after its title.
    public static func charts(_ data: ReportData) -> [(name: String, svg: String)] {
        var seen: [String: Int] = [:]
        return render(data).components(separatedBy: "<svg ").dropFirst().map { part in
            let svg = "<svg " + part.components(separatedBy: "</svg>")[0] + "</svg>\n"
            let title = svg.components(separatedBy: "<title>").dropFirst().first?.components(separatedBy: "</title>").first ?? "chart"
            var slug = String(title.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
            while slug.contains("--") { slug = slug.replacingOccurrences(of: "--", with: "-") }
            slug = slug.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
            seen[slug, default: 0] += 1
            return (name: (seen[slug]! > 1 ? "\(slug)-\(seen[slug]!)" : slug) + ".svg", svg: svg)
        }
    }

    /// Percent of instances at or below each time, thinned to at most 200 points.
    static func cdf(_ sorted: [Double]) -> [(x: Double, y: Double)] {
        let n = sorted.count
        let step = max(1, n / 200)
        var points = stride(from: 0, to: n, by: step).map { (x: sorted[$0], y: Double($0 + 1) * 100 / Double(n)) }
        if points.last?.y != 100 { points.append((x: sorted[n - 1], y: 100)) }
        return points
    }

    static func exhaustion(_ x: ReportData.Exhaustion) -> String {
        let e = x.environment
        let size = x.samples.first.map { ReportTables.mib($0.fsSize) } ?? "?"
        var out = "<h2>\(HTML.escape("Running out of space: \(e.driver) on \(size) \(e.fsType)"))</h2>\n"
        out += "<p class=\"note\">\(HTML.escape("Run \(e.runID) on \(e.host), kernel \(e.kernel); \(x.mkfs); mounted \(e.mountOptions). \(e.workload), \(e.mode)."))</p>\n"
        out += ReportTables.exhaustion(x).html
        let mib = { (v: Int64?) in v.map { Double($0) / 1_048_576 } }
        func line(_ name: String, _ color: String, dashed: Bool = false, _ value: (ReportData.Space) -> Double?) -> LineChart.Series {
            LineChart.Series(name: name, color: color, points: x.samples.compactMap { s in value(s).map { (Double(s.instance), $0) } }, dashed: dashed)
        }
        var series = [line("df available", "#555", dashed: true) { mib($0.dfAvail) }]
        if x.samples.contains(where: { $0.metaTotal != nil }) {
            series += [line("data used", "#1f77b4") { mib($0.dataUsed) }, line("data allocated", "#9ecae1") { mib($0.dataTotal) },
                       line("metadata used", "#d62728") { mib($0.metaUsed) }, line("metadata allocated", "#ff9896") { mib($0.metaTotal) },
                       line("global reserve", "#9467bd") { mib($0.globalReserve) }, line("unallocated", "#2ca02c") { mib($0.unallocated) }]
        }
        let failure = x.steps.first { $0.step == "failure" }
        out += LineChart(title: "Space as instances accumulate until ENOSPC", xLabel: "live instances", yLabel: "MiB",
                         series: series, markers: failure.flatMap { f in Int(f.instance).map { [(Double($0), "ENOSPC at instance \($0)")] } } ?? []).svg()
        let steps = x.steps.filter { $0.phase == "recover" }
        if !steps.isEmpty {
            func values(_ v: (ReportData.Space) -> Int64?) -> [Double] { steps.map { $0.space.flatMap(v).map { Double($0) / 1_048_576 } ?? 0 } }
            out += BarChart(title: "Recovery: space after each step", yLabel: "MiB", categories: steps.map(\.step), series: [
                ("unallocated", "#2ca02c", values { $0.unallocated }),
                ("metadata free", "#d62728", values { s in s.metaTotal.map { $0 - (s.metaUsed ?? 0) - (s.globalReserve ?? 0) } }),
                ("df available", "#555", values { $0.dfAvail }),
            ]).svg()
        }
        return out
    }
}
