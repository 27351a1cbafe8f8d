import CowbenchHarness

/// `exhaust.csv` (a row per sample, streamed) and `exhaust-summary.csv`
/// (the failure, each recovery step and the final proof), with the same
/// environment columns as the harness's CSVs.
public enum ExhaustCSV {
    static let space = [
        "fs_size_bytes", "df_free_bytes", "df_avail_bytes", "inodes_free", "data_used", "data_total", "meta_used", "meta_total",
        "meta_profile", "system_used", "system_total", "global_reserve_used", "global_reserve_total", "unallocated",
        "cleaner_backlog",
    ]

    public static let sampleColumns: [String] = Array(InstancesCSV.columns.prefix(10)) + ["instance", "seconds"] + space + ["labels"]

    public static let summaryColumns: [String] = Array(InstancesCSV.columns.prefix(10)) + [
        "mkfs", "reclaim", "step", "instance", "phase", "syscall", "errno", "path", "classification",
    ] + space + ["relocated_chunks", "helped", "seconds", "peak_meta_used", "peak_cleaner_backlog", "space_back_s", "labels"]

    public static func header() -> String { CSVEncoding.encode([Array(sampleColumns)]) }

    public static func sample(_ s: ExhaustSample, _ env: RunEnvironment) -> String {
        CSVEncoding.encode([EnvironmentFields.of(env) + ["\(s.instance)", CSVEncoding.seconds(s.seconds)] + spaceFields(s) + [env.labels]])
    }

    public static func summary(_ o: ExhaustOutcome) -> String {
        typealias E = CSVEncoding
        let lead = EnvironmentFields.of(o.environment) + [o.mkfs, o.reclaim]
        var rows = [Array(summaryColumns)]
        if let f = o.failure {
            rows.append(lead + ["failure", "\(f.instance)", f.phase, f.call, f.errno, f.path, f.classification.rawValue]
                        + spaceFields(f.sample) + ["", "", E.seconds(o.seconds), "", "", ""])
        } else {
            let c = o.churn
            rows.append(lead + ["survived", "\(c?.instances ?? o.instancesCreated)", "", "", "", "", ""]
                        + Array(repeating: "", count: space.count)
                        + ["", "", E.seconds(o.seconds), E.number(c?.peakMetadataUsed), E.number(c?.peakBacklog),
                           E.seconds(c?.spaceBackSeconds)])
        }
        for s in o.steps {
            rows.append(lead + [s.name, "\(s.after.instance)", "recover", "", s.errno ?? "", "", ""]
                        + spaceFields(s.after)
                        + [E.number(s.relocated), s.helped ? "yes" : s.deferred ? "deferred" : "no", E.seconds(s.seconds), "", "", ""])
        }
        if let usable = o.usableAgain {
            rows.append(lead + ["new instance after recovery", "", "", "", "", "", usable ? "usable" : "still failing"]
                        + Array(repeating: "", count: space.count) + ["", "", "", "", "", ""])
        }
        return E.encode([rows[0]] + rows.dropFirst().map { $0 + [o.environment.labels] })
    }

    static func spaceFields(_ s: ExhaustSample) -> [String] {
        typealias E = CSVEncoding
        let f = s.filesystem, b = s.btrfs
        return ["\(f.totalBytes)", "\(f.freeBytes)", "\(f.availableBytes)", "\(f.freeInodes)",
                E.number(b?.dataUsed), E.number(b?.dataTotal), E.number(b?.metadataUsed), E.number(b?.metadataTotal),
                b?.metadataProfile ?? "", E.number(b?.systemUsed), E.number(b?.systemTotal),
                E.number(b?.globalReserveUsed), E.number(b?.globalReserveTotal), E.number(b?.unallocated), E.number(s.backlog)]
    }
}
