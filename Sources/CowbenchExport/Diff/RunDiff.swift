import CowbenchHarness
import Foundation

/// Two sets of results compared figure by figure, as benchstat does: each
/// side's median with its interval, the change, a Mann–Whitney p-value on
/// the per-instance (or per-block) samples, and `~` where nothing changed.
public struct RunDiff: Sendable, Encodable {
    public struct Row: Sendable, Encodable {
        public var driver, image, workload, mode, figure: String
        public var oldMedian, newMedian: Double
        public var oldLow, oldHigh, newLow, newHigh: Double?
        public var oldSamples, newSamples: Int
        /// (new − old) / old.
        public var change: Double
        public var p: Double?
        /// p < alpha and |change| ≥ threshold.
        public var significant: Bool
    }

    public enum Outcome: Int, Sendable, Encodable {
        case noChange = 0, regression = 2, improvement = 4
    }

    public var rows: [Row] = []
    public var threshold: Double
    public var alpha: Double
    /// Configurations found on only one side.
    public var unmatched: [String] = []

    /// A regression anywhere wins over improvements: the exit code says so.
    public var outcome: Outcome {
        if rows.contains(where: { $0.significant && $0.change > 0 }) { return .regression }
        if rows.contains(where: { $0.significant && $0.change < 0 }) { return .improvement }
        return .noChange
    }

    /// Configurations matched although their workload parameters differ.
    public var notes: [String] = []

    /// Compares every driver configuration present in both. Workloads match
    /// by name, so `write(files=10)` diffs against `write(files=2000)`: a
    /// change in what the workload does is a legitimate thing to measure.
    public static func compute(old: ReportData, new: ReportData, threshold: Double = 0, alpha: Double = 0.05) -> RunDiff {
        var diff = RunDiff(threshold: threshold, alpha: alpha)
        func key(_ r: ReportData.DriverRun) -> String {
            let e = r.environment
            let workload = e.workload.split(separator: "(").first.map(String.init) ?? e.workload
            return [e.driver, e.image, workload, e.mode].joined(separator: " ")
        }
        let newByKey = Dictionary(new.runs.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let oldKeys = Set(old.runs.map(key))
        diff.unmatched = old.runs.map(key).filter { newByKey[$0] == nil } + new.runs.map(key).filter { !oldKeys.contains($0) }
        for o in old.runs {
            guard let n = newByKey[key(o)] else { continue }
            if o.environment.workload != n.environment.workload {
                diff.notes.append("\(o.environment.driver): workload \(o.environment.workload) against \(n.environment.workload)")
            }
            for (figure, a, b) in [("sustained", blockSamples(o), blockSamples(n))]
                + Phase.allCases.map({ p in (p.rawValue, phaseSamples(o, p), phaseSamples(n, p)) }) {
                guard !a.isEmpty, !b.isEmpty else { continue }
                let ea = RunSummary.estimate(a), eb = RunSummary.estimate(b)
                guard ea.value > 0 else { continue }
                let change = (eb.value - ea.value) / ea.value
                let p = MannWhitney.pValue(a, b)
                let e = o.environment
                diff.rows.append(Row(driver: e.driver, image: e.image, workload: e.workload, mode: e.mode, figure: figure,
                                     oldMedian: ea.value, newMedian: eb.value,
                                     oldLow: ea.interval?.lowerBound, oldHigh: ea.interval?.upperBound,
                                     newLow: eb.interval?.lowerBound, newHigh: eb.interval?.upperBound,
                                     oldSamples: a.count, newSamples: b.count, change: change, p: p,
                                     significant: (p ?? 1) < alpha && abs(change) >= threshold))
            }
        }
        return diff
    }

    /// Timed instances only: probes ran alone after a settle, failures are not costs.
    static func phaseSamples(_ r: ReportData.DriverRun, _ p: Phase) -> [Double] {
        r.instances.filter { !$0.probe && $0.errorPhase == nil }.compactMap { i in
            switch p {
            case .create: i.create
            case .start: i.start
            case .run: i.run
            case .destroy: i.destroy
            }
        }
    }

    static func blockSamples(_ r: ReportData.DriverRun) -> [Double] {
        r.blocks.filter { $0.instances > 0 && $0.settled }.map { ($0.wallSeconds + $0.settleSeconds) / Double($0.instances) }
    }
}
