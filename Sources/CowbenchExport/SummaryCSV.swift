import CowbenchHarness
import Foundation

/// `summary.csv`: one row per driver with counts, sustained cost and phase
/// percentiles, each median with its 95% interval.
public enum SummaryCSV {
    static let percentiles: [(String, Double)] = [("p90", 90), ("p99", 99)]

    public static let columns = EnvironmentFields.runColumns + [
        "instances", "failures", "probes", "wall_s", "settle_s", "teardown_s",
        "sustained_s", "sustained_ci_low_s", "sustained_ci_high_s", "instances_per_s",
        "bytes_per_instance", "inodes_per_instance",
        "memory_per_instance_bytes", "memory_per_instance_ci_low_bytes", "memory_per_instance_ci_high_bytes", "memory_total_bytes", "live_instances",
        "drift", "drift_ci_low", "drift_ci_high",
    ] + Phase.allCases.flatMap { p in
        ["p50", "p50_ci_low", "p50_ci_high", "p90", "p99", "max"].map { "\(p.rawValue)_\($0)_s" }
    } + ["warnings"]

    public static func render(_ summaries: [RunSummary]) -> String {
        CSVEncoding.encode([columns] + summaries.map(fields))
    }

    /// One summary's fields, in `columns` order.
    static func fields(_ s: RunSummary) -> [String] {
        typealias E = CSVEncoding
        return {
            let sustained = s.sustained, drift = s.drift, memory = s.memoryPerInstance
            let whole = { (v: Double?) in v.map { String(format: "%.0f", $0) } ?? "" }
            return EnvironmentFields.run(s.environment) + [
                "\(s.instances)", "\(s.failures)", "\(s.probes)", E.seconds(s.wallSeconds), E.seconds(s.settleSeconds),
                E.seconds(s.teardownSeconds),
                E.seconds(sustained?.value), E.seconds(sustained?.interval?.lowerBound), E.seconds(sustained?.interval?.upperBound),
                sustained == nil ? "" : String(format: "%.3f", s.instancesPerSecond),
                s.bytesPerInstance.map { String(format: "%.0f", $0) } ?? "", s.inodesPerInstance.map { String(format: "%.2f", $0) } ?? "",
                whole(memory?.value), whole(memory?.interval?.lowerBound), whole(memory?.interval?.upperBound),
                E.number(s.memoryTotalBytes), s.memoryTotalBytes == nil ? "" : "\(s.liveInstances)",
                E.fraction(drift?.value), E.fraction(drift?.interval?.lowerBound), E.fraction(drift?.interval?.upperBound),
            ] + Phase.allCases.flatMap { p -> [String] in
                let st = s.phases[p]!
                guard st.count > 0 else { return Array(repeating: "", count: 6) }
                let m = st.medianEstimate
                return [E.seconds(m.value), E.seconds(m.interval?.lowerBound), E.seconds(m.interval?.upperBound)]
                    + percentiles.map { E.seconds(st.percentile($0.1)) } + [E.seconds(st.max)]
            } + [s.warnings.joined(separator: " | ")]
        }()
    }
}
