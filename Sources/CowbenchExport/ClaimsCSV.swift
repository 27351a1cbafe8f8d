import CowbenchCore
import CowbenchHarness
import Foundation

/// claims.csv: a row per claim, the numbers written out in words so the
/// file reads on its own, rewritten after every claim.
public enum ClaimsCSV {
    public static let columns = ["claim", "source", "measured", "threshold", "verdict",
                                 "id", "reason", "seconds", "host", "kernel", "cowbench_version", "labels"]

    public static func render(_ results: [ClaimResult], host: String, kernel: String, version: String, labels: String = "") -> String {
        CSVEncoding.encode([columns] + results.map { r in
            [r.claim, r.source, measured(r.figures), r.threshold, r.verdict.rawValue,
             r.id, r.reason ?? "", CSVEncoding.seconds(r.seconds), host, kernel, version, labels]
        })
    }

    /// "overlay per live instance 73.5 KiB; 500 layers / 1 layer 1.52× [1.31×, 1.80×]".
    public static func measured(_ figures: [ClaimFigure]) -> String {
        figures.map { "\($0.label) \(value($0))" }.joined(separator: "; ")
    }

    static func value(_ f: ClaimFigure) -> String {
        let one: (Double) -> String = { v in
            switch f.unit {
            case .bytes: ByteSize.format(v)
            case .seconds: TerminalTable.duration(v)
            case .ratio: String(format: "%.2f×", v)
            case .count: String(format: "%.0f", v)
            case .percent: String(format: "%.0f%%", v)
            case .bytesPerSecond: ByteSize.format(v) + "/s"
            case .outcome: f.text ?? ""
            }
        }
        guard f.unit != .outcome else { return f.text ?? "" }
        return one(f.value) + (f.interval.map { " [\(one($0.lowerBound)), \(one($0.upperBound))]" } ?? "")
    }
}
