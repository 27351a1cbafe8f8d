import CowbenchHarness

/// `baseline.csv`: one row per driver and phase; the per-instance wall times
/// are on the `instance` phase row.
public enum BaselineCSV {
    public static let columns = ["host", "kernel", "cowbench_version", "driver", "image", "instances", "phase",
                                 "raw_p50_s", "cowbench_p50_s", "ratio", "ratio_ci_low", "ratio_ci_high", "shell_s", "labels"]

    public static func render(_ rows: [BaselineComparison], host: String, kernel: String, version: String,
                              image: String, instances: Int, labels: String = "") -> String {
        typealias E = CSVEncoding
        let lead = { (b: BaselineComparison) in [host, kernel, version, b.driver, image, "\(instances)"] }
        var table = [columns]
        for b in rows {
            for (phase, label) in [(Phase.create, "create"), (.start, "start_run"), (.destroy, "destroy")] {
                guard let r = b.raw[phase], let c = b.cowbench[phase], r.count > 0, c.count > 0 else { continue }
                let ratio = b.ratio(phase)
                table.append(lead(b) + [label, E.seconds(r.median), E.seconds(c.median), E.ratio(ratio?.value),
                                        E.ratio(ratio?.interval?.lowerBound), E.ratio(ratio?.interval?.upperBound), "", labels])
            }
            let ratio = b.rawSecondsPerInstance > 0 ? String(format: "%.3f", b.cowbenchSecondsPerInstance / b.rawSecondsPerInstance) : ""
            table.append(lead(b) + ["instance", E.seconds(b.rawSecondsPerInstance), E.seconds(b.cowbenchSecondsPerInstance),
                                    ratio, "", "", E.seconds(b.shellSecondsPerInstance), labels])
        }
        return E.encode(table)
    }
}
