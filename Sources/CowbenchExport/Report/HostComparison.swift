import CowbenchCore
import CowbenchHarness
import Foundation

/// The same image, workload and mode measured on several hosts: told apart
/// by host, kernel and the user's `--label`s, and per driver by the scratch
/// filesystem and its mount options (which differ between drivers of one
/// run by design). Each host's figures come from its own run; only ratios
/// within one host are verdicts, so between hosts the table sets figures
/// side by side and says where the verdicts differ.
struct HostComparison {
    struct Row {
        var driver, host, filesystem: String
        var summary: RunSummary
    }

    var title: String
    /// Host keys in the order their runs were given.
    var hosts: [String]
    /// Drivers in the order they first appear.
    var drivers: [String]
    var rows: [Row] = []

    /// `host`'s first run of `driver`, for verdicts and the chart.
    func summary(_ host: String, _ driver: String) -> RunSummary? {
        rows.first { $0.host == host && $0.driver == driver }?.summary
    }

    /// The key a run's host is known by.
    static func hostKey(_ e: ReportData.Environment) -> String {
        var key = "\(e.host), kernel \(e.kernel)"
        if let labels = e.labels { key += ", " + labels.split(separator: ";").joined(separator: ", ") }
        return key
    }

    static func filesystem(_ e: ReportData.Environment) -> String {
        e.mountOptions.isEmpty ? e.fsType : "\(e.fsType) (\(e.mountOptions))"
    }

    /// Whether some driver ran in more than one setting (host, or filesystem).
    var comparesSettings: Bool {
        drivers.contains { d in Set(rows.filter { $0.driver == d }.map { $0.host + "\u{1f}" + $0.filesystem }).count > 1 }
    }

    /// Every image, workload and mode that more than one host ran.
    static func all(_ data: ReportData) -> [HostComparison] {
        var order: [String] = []
        var groups: [String: HostComparison] = [:]
        for r in data.runs {
            let e = r.environment
            let key = [e.image, e.workload, e.mode].joined(separator: "\u{1f}")
            if groups[key] == nil {
                order.append(key)
                groups[key] = HostComparison(title: "\(e.workload) on \(e.image), \(e.mode)", hosts: [], drivers: [])
            }
            let host = hostKey(e)
            if !groups[key]!.hosts.contains(host) { groups[key]!.hosts.append(host) }
            if !groups[key]!.drivers.contains(e.driver) { groups[key]!.drivers.append(e.driver) }
            groups[key]!.rows.append(Row(driver: e.driver, host: host, filesystem: filesystem(e), summary: r.summary))
        }
        return order.compactMap { groups[$0] }.filter(\.comparesSettings)
    }

    var table: ReportTable {
        var t = ReportTable(header: ["driver", "host", "scratch fs", "sustained per instance (95% CI)", "bytes per instance", "memory per instance"],
                            numeric: [false, false, false, true, true, true], rows: [])
        for d in drivers {
            for r in rows where r.driver == d {
                let s = r.summary
                t.rows.append([d, r.host, r.filesystem, s.sustained.map { TerminalTable.duration($0.value) + " " + TerminalTable.interval($0) } ?? "–",
                               s.bytesPerInstance.map(ByteSize.format) ?? "–",
                               s.memoryPerInstance.map { ByteSize.format($0.value) } ?? "–"])
            }
        }
        return t
    }

    /// The driver with the lowest sustained cost on `host`, when its interval
    /// lies below every other's: otherwise no driver is cheapest there.
    func cheapest(on host: String) -> String? {
        let costs = drivers.compactMap { d in summary(host, d)?.sustained.map { (d, $0) } }
        guard costs.count > 1, let best = costs.min(by: { $0.1.value < $1.1.value }) else { return nil }
        for (d, other) in costs where d != best.0 {
            guard let ratio = other.ratio(to: best.1), let i = ratio.interval, i.lowerBound > 1 else { return nil }
        }
        return best.0
    }

    /// One line per host, and a note when the hosts' verdicts differ.
    var verdicts: [String] {
        guard drivers.count > 1 else { return [] }
        let each = hosts.map { h in (h, cheapest(on: h)) }
        var lines = each.map { h, d in d.map { "on \(h), \($0) is cheapest sustained" } ?? "on \(h), no driver is cheapest beyond its interval (~)" }
        if Set(each.map { $0.1 ?? "~" }).count > 1 {
            lines.append("the verdicts differ between hosts: choose per host, from that host's own run")
        }
        return lines
    }

    /// Sustained cost per driver, grouped by host.
    var chart: String {
        BarChart(title: "Sustained cost per instance by host (\(title))", yLabel: "ms per instance", categories: hosts,
                 series: drivers.enumerated().map { i, d in
                     (name: d, color: HTMLReport.color(d, i), values: hosts.map { h in (summary(h, d)?.sustained?.value ?? 0) * 1000 })
                 }).svg()
    }
}
