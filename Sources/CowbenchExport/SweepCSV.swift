import CowbenchHarness

/// A sweep's `summary.csv`: summary.csv's columns, after a `sweep_<name>`
/// column per parameter and `mount_api`, which says where overlay changed
/// kernel API along the sweep.
public enum SweepCSV {
    public static func columns(_ names: [String]) -> [String] {
        names.map { "sweep_" + $0 } + ["mount_api"] + SummaryCSV.columns
    }

    public static func render(names: [String], rows: [(point: Sweep.Point, summary: RunSummary)]) -> String {
        CSVEncoding.encode([columns(names)] + rows.map { r in
            names.map { n in r.point.first { $0.name == n }?.value ?? "" } + [r.summary.environment.mountAPI] + SummaryCSV.fields(r.summary)
        })
    }
}
