import CowbenchHarness

/// `summary.csv`: one row per driver with counts and phase percentiles.
public enum SummaryCSV {
    static let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99)]

    public static let columns = Array(InstancesCSV.columns.prefix(10)) + [
        "instances", "failures", "wall_s", "instances_per_s", "bytes_per_instance", "inodes_per_instance", "teardown_s",
    ] + Phase.allCases.flatMap { p in (percentiles.map(\.0) + ["max"]).map { "\(p.rawValue)_\($0)_s" } }

    public static func render(_ summaries: [RunSummary]) -> String {
        typealias E = CSVEncoding
        return E.encode([columns] + summaries.map { s in
            EnvironmentFields.of(s.environment) + [
                "\(s.instances)", "\(s.failures)", E.seconds(s.wallSeconds), String(format: "%.3f", s.instancesPerSecond),
                String(format: "%.0f", s.bytesPerInstance), String(format: "%.2f", s.inodesPerInstance), E.seconds(s.teardownSeconds),
            ] + Phase.allCases.flatMap { p -> [String] in
                let st = s.phases[p]!
                guard st.count > 0 else { return Array(repeating: "", count: 4) }
                return percentiles.map { E.seconds(st.percentile($0.1)) } + [E.seconds(st.max)]
            }
        })
    }
}
