import CowbenchHarness
import Foundation

/// Results as an OpenMetrics text exposition, for Prometheus's node
/// exporter textfile collector: per-phase latency quantiles, sustained cost
/// with its interval, bytes and memory per instance, and where exhaustion
/// struck. Every sample is labelled by host, kernel, driver spec, image,
/// workload and mode, and by each `--label` as `label_KEY`. Deterministic.
public enum OpenMetricsFormat {
    public static func render(_ data: ReportData) -> String {
        var families: [Family] = [
            Family("cowbench_phase_seconds", type: "summary", unit: "seconds",
                   help: "Time of one phase of an instance's life (create, start, run, destroy), by quantile over the run's instances that were not space probes."),
            Family("cowbench_sustained_seconds", type: "gauge", unit: "seconds",
                   help: "Wall time per instance including the work the kernel deferred (settles charged to their blocks)."),
            Family("cowbench_sustained_ci_lower_seconds", type: "gauge", unit: "seconds", help: "Lower end of sustained cost's 95% interval."),
            Family("cowbench_sustained_ci_upper_seconds", type: "gauge", unit: "seconds", help: "Upper end of sustained cost's 95% interval."),
            Family("cowbench_instance_disk_bytes", type: "gauge", unit: "bytes",
                   help: "Scratch filesystem space one instance adds (mean of the space probes, settled and flushed)."),
            Family("cowbench_instance_memory_bytes", type: "gauge", unit: "bytes",
                   help: "Memory one more live instance adds (page cache included), per the run's memory cgroup."),
            Family("cowbench_exhaustion_instance", type: "gauge", unit: nil,
                   help: "The instance whose write failed with ENOSPC on a scratch filesystem kept filling."),
            Family("cowbench_exhaustion_df_available_bytes", type: "gauge", unit: "bytes", help: "What df reported available when ENOSPC struck."),
            Family("cowbench_exhaustion_metadata_used_bytes", type: "gauge", unit: "bytes", help: "btrfs metadata used when ENOSPC struck."),
            Family("cowbench_exhaustion_metadata_total_bytes", type: "gauge", unit: "bytes", help: "btrfs metadata allocated when ENOSPC struck."),
            Family("cowbench_exhaustion_unallocated_bytes", type: "gauge", unit: "bytes", help: "btrfs unallocated space when ENOSPC struck."),
        ]
        func add(_ name: String, _ labels: [(String, String)], _ value: Double, suffix: String = "") {
            guard let i = families.firstIndex(where: { $0.name == name }) else { return }
            families[i].samples.append(name + suffix + Self.labels(labels) + " " + Self.number(value))
        }
        for r in latest(data.runs) {
            let s = r.summary, base = Self.base(r.environment)
            for p in Phase.allCases {
                let st = s.phases[p]!
                guard st.count > 0 else { continue }
                let labels = base + [("phase", p.rawValue)]
                for q in [0.5, 0.9, 0.99] { add("cowbench_phase_seconds", labels + [("quantile", Self.number(q))], st.percentile(q * 100)) }
                // Probes' timings are left out of the quantiles (they run alone, after a settle), so out of these too.
                let values = r.instances.filter { !$0.probe && $0.errorPhase == nil }.compactMap { i -> Double? in
                    switch p {
                    case .create: i.create
                    case .start: i.start
                    case .run: i.run
                    case .destroy: i.destroy
                    }
                }
                add("cowbench_phase_seconds", labels, Double(st.count), suffix: "_count")
                add("cowbench_phase_seconds", labels, values.reduce(0, +), suffix: "_sum")
            }
            if let v = s.sustained {
                add("cowbench_sustained_seconds", base, v.value)
                if let i = v.interval {
                    add("cowbench_sustained_ci_lower_seconds", base, i.lowerBound)
                    add("cowbench_sustained_ci_upper_seconds", base, i.upperBound)
                }
            }
            if let b = s.bytesPerInstance { add("cowbench_instance_disk_bytes", base, b) }
            if let m = s.memoryPerInstance { add("cowbench_instance_memory_bytes", base, m.value) }
        }
        for x in data.exhaustions {
            guard let f = x.steps.first(where: { $0.step == "failure" }), let n = Double(f.instance) else { continue }
            let base = Self.base(x.environment)
            add("cowbench_exhaustion_instance", base, n)
            if let sp = f.space {
                add("cowbench_exhaustion_df_available_bytes", base, Double(sp.dfAvail))
                if let v = sp.metaUsed { add("cowbench_exhaustion_metadata_used_bytes", base, Double(v)) }
                if let v = sp.metaTotal { add("cowbench_exhaustion_metadata_total_bytes", base, Double(v)) }
                if let v = sp.unallocated { add("cowbench_exhaustion_unallocated_bytes", base, Double(v)) }
            }
        }
        return families.filter { !$0.samples.isEmpty }.map(\.text).joined() + "# EOF\n"
    }

    /// One run per label set, the last one given: a series must appear once,
    /// and a textfile collector shows the newest figures.
    static func latest(_ runs: [ReportData.DriverRun]) -> [ReportData.DriverRun] {
        var seen: Set<String> = []
        return runs.reversed().filter { seen.insert(labels(base($0.environment))).inserted }.reversed()
    }

    struct Family {
        let name, type, help: String
        let unit: String?
        var samples: [String] = []
        init(_ name: String, type: String, unit: String?, help: String) {
            (self.name, self.type, self.unit, self.help) = (name, type, unit, help)
        }
        var text: String {
            "# TYPE \(name) \(type)\n" + (unit.map { "# UNIT \(name) \($0)\n" } ?? "") + "# HELP \(name) \(help)\n"
                + samples.map { $0 + "\n" }.joined()
        }
    }

    static func base(_ e: ReportData.Environment) -> [(String, String)] {
        var l = [("host", e.host), ("kernel", e.kernel), ("driver", e.driver), ("image", e.image), ("workload", e.workload), ("mode", e.mode)]
        for item in (e.labels ?? "").split(separator: ";") {
            let kv = item.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { l.append(("label_" + kv[0], String(kv[1]))) }
        }
        return l
    }

    static func labels(_ l: [(String, String)]) -> String {
        "{" + l.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// A label value as OpenMetrics quotes it.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(format: "%.1f", v) : String(format: "%.9g", v)
    }
}
