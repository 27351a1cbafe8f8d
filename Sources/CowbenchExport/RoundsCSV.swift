import CowbenchHarness

/// `rounds.csv`: a row per block of each driver, so intervals and `diff`
/// can be worked out again from the files alone.
public enum RoundsCSV {
    public static let columns = EnvironmentFields.runColumns + ["round", "instances", "failures", "wall_s", "settle_s", "sustained_s"]

    public static func render(_ summaries: [RunSummary]) -> String {
        typealias E = CSVEncoding
        return E.encode([columns] + summaries.flatMap { s in
            s.blocks.map { b in
                EnvironmentFields.run(s.environment) + ["\(b.round)", "\(b.instances)", "\(b.failures)", E.seconds(b.wallSeconds),
                                                        b.settled ? E.seconds(b.settleSeconds) : "", E.seconds(b.sustainedSeconds)]
            }
        })
    }
}
