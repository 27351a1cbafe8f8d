import CowbenchCore
import CowbenchHarness

/// `sweep.html`: each figure against the swept parameter, a line per
/// driver with its 95% interval as dashed lines, log axes where the values
/// span decades, and a mark where overlay changed mount API.
public enum SweepReport {
    struct Figure: Sendable {
        var title: String
        var unit: String
        var format: @Sendable (Double) -> String
        var value: @Sendable (RunSummary) -> Estimate?
    }

    static let figures: [Figure] = [
        Figure(title: "sustained cost per instance", unit: "s", format: Axis.duration) { $0.sustained },
        Figure(title: "create, median", unit: "s", format: Axis.duration) { s in s.phases[.create].flatMap { $0.count > 0 ? $0.medianEstimate : nil } },
        Figure(title: "run, median", unit: "s", format: Axis.duration) { s in s.phases[.run].flatMap { $0.count > 0 ? $0.medianEstimate : nil } },
        Figure(title: "space per instance", unit: "bytes", format: { ByteSize.format($0) }) { s in s.bytesPerInstance.map { Estimate($0, nil) } },
        Figure(title: "memory per live instance", unit: "bytes", format: { ByteSize.format($0) }) { $0.memoryPerInstance },
    ]

    /// One chart per figure and parameter; with several parameters, a line
    /// per driver and value of the others.
    public static func render(names: [String], rows: [(point: Sweep.Point, summary: RunSummary)]) -> String {
        var body = "<h1>cowbench sweep</h1>\n"
        if let e = rows.first?.summary.environment {
            body += "<p class=\"note\">\(HTML.escape("Run \(e.runID) on \(e.host), kernel \(e.kernel): \(e.workload), each point on fresh scratch filesystems."))</p>\n"
        }
        for name in names {
            let xs = rows.compactMap { x(of: $0.point, name) }
            let xLog = (xs.min() ?? 1) > 0 && (xs.max() ?? 1) / (xs.min() ?? 1) >= 10
            // Where the mount API changes between neighbouring points.
            let changes = rows.sorted { (x(of: $0.point, name) ?? 0) < (x(of: $1.point, name) ?? 0) }
            var markers: [(x: Double, label: String)] = []
            var last: [String: String] = [:]
            for r in changes where !r.summary.environment.mountAPI.isEmpty {
                let d = r.summary.environment.driver, api = r.summary.environment.mountAPI
                if let prev = last[d], prev != api, let v = x(of: r.point, name), !markers.contains(where: { $0.x == v }) {
                    markers.append((v, "\(d): \(api)"))
                }
                last[d] = api
            }
            for f in figures {
                var groups: [String: [(Double, Estimate)]] = [:]
                var order: [String] = []
                for r in rows {
                    guard let xv = x(of: r.point, name), let est = f.value(r.summary) else { continue }
                    let others = r.point.filter { $0.name != name }.map { "\($0.name)=\($0.value)" }
                    let key = ([r.summary.environment.driver] + others).joined(separator: " ")
                    if groups[key] == nil { order.append(key) }
                    groups[key, default: []].append((xv, est))
                }
                guard !groups.isEmpty else { continue }
                var series: [LineChart.Series] = []
                for (i, key) in order.enumerated() {
                    let pts = groups[key]!.sorted { $0.0 < $1.0 }
                    let color = HTMLReport.color(String(key.split(separator: " ")[0]), i)
                    series.append(LineChart.Series(name: key, color: color, points: pts.map { ($0.0, $0.1.value) }))
                    let lows = pts.compactMap { p in p.1.interval.map { (p.0, $0.lowerBound) } }
                    let highs = pts.compactMap { p in p.1.interval.map { (p.0, $0.upperBound) } }
                    if lows.count == pts.count && !lows.isEmpty {
                        series.append(LineChart.Series(name: "\(key) 95% CI", color: color, points: lows, dashed: true))
                        series.append(LineChart.Series(name: "", color: color, points: highs, dashed: true))
                    }
                }
                body += LineChart(title: "\(f.title) against \(name)", xLabel: name + (xLog ? " (log scale)" : ""),
                                  yLabel: "\(f.title) (\(f.unit))", xLog: xLog, yFormat: f.format, series: series,
                                  markers: markers).svg()
            }
        }
        return HTMLReport.page(title: "cowbench sweep", body: body)
    }

    static func x(of point: Sweep.Point, _ name: String) -> Double? {
        guard let v = point.first(where: { $0.name == name })?.value else { return nil }
        return name == "size" ? ByteSize.parse(v).map(Double.init) : Double(v)
    }
}
