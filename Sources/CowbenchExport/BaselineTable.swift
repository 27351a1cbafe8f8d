import CowbenchHarness
import Foundation

/// The table `cowbench baseline` prints: cowbench's medians against a C loop
/// doing the same kernel work, and per-instance cost against a shell loop.
public enum BaselineTable {
    public static func render(_ rows: [BaselineComparison]) -> String {
        var out = "driver   phase         raw C   cowbench   cowbench/raw   95% CI\n"
        var defects: [String] = []
        for b in rows {
            for (phase, label) in [(Phase.create, "create"), (.start, "start+run"), (.destroy, "destroy")] {
                guard let r = b.raw[phase], let c = b.cowbench[phase], r.count > 0, c.count > 0 else { continue }
                out += b.driver.padding(toLength: 9, withPad: " ", startingAt: 0) + label.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + TerminalTable.duration(r.median).leftPad(10) + TerminalTable.duration(c.median).leftPad(11)
                    + String(format: "%.2f×", b.ratio(phase)?.value ?? 0).leftPad(15)
                    + "   " + (b.ratio(phase)?.interval.map { String(format: "[%.2f×–%.2f×]", $0.lowerBound, $0.upperBound) } ?? "(too few)")
                    + "\n"
                if let r = b.ratio(phase), let i = r.interval, i.upperBound < 1 {
                    defects.append("\(b.driver) \(label): the C loop is slower than cowbench, so it is not the limit: a defect of the reference")
                }
            }
        }
        for d in defects { out += "warning: \(d)\n" }
        out += "\ndriver   per instance, wall   raw C   cowbench   shell loop   shell/cowbench\n"
        for b in rows {
            out += b.driver.padding(toLength: 29, withPad: " ", startingAt: 0)
                + TerminalTable.duration(b.rawSecondsPerInstance).leftPad(8)
                + TerminalTable.duration(b.cowbenchSecondsPerInstance).leftPad(11)
                + TerminalTable.duration(b.shellSecondsPerInstance).leftPad(13)
                + String(format: "%.1f×", b.cowbenchSecondsPerInstance > 0 ? b.shellSecondsPerInstance / b.cowbenchSecondsPerInstance : 0).leftPad(17)
                + "\n"
        }
        return out
    }
}
