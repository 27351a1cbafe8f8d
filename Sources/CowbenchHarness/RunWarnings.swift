import CowbenchCore
import Foundation

/// The load on the host, read from /proc: the 1-minute load average and the
/// CPU time stolen by the hypervisor so far.
public struct HostLoad: Sendable {
    public var loadAverage: Double
    public var stealTicks: UInt64
    public var totalTicks: UInt64
    public var cores: Int

    public static func read() -> HostLoad {
        let load = (try? FileSystem.read("/proc/loadavg")).flatMap { Double($0.split(separator: " ").first ?? "") } ?? 0
        var steal: UInt64 = 0, total: UInt64 = 0
        if let stat = try? FileSystem.read("/proc/stat"), let cpu = stat.split(separator: "\n").first, cpu.hasPrefix("cpu ") {
            let fields = cpu.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            total = fields.reduce(0, +)
            if fields.count > 7 { steal = fields[7] }
        }
        return HostLoad(loadAverage: load, stealTicks: steal, totalTicks: total, cores: ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// hyperfine-style warnings about a run's own numbers, each saying what to do.
public enum RunWarnings {
    public static func evaluate(_ s: RunSummary, load: (before: HostLoad, after: HostLoad)) -> [String] {
        var w: [String] = []
        let d = s.environment.driver
        if s.instances > 0 && s.instances < 6 {
            w.append("\(d): only \(s.instances) instances, too few for a 95% interval of a median; run at least 6 (--instances)")
        }
        if s.blocks.filter({ $0.instances > 0 }).count < 3 && s.instances > 0 {
            w.append("\(d): fewer than 3 blocks, so sustained cost has no interval; use more instances or a smaller --block")
        }
        let totals = s.totals
        if totals.count >= 6 && totals.mean > 0 {
            let cv = totals.standardDeviation / totals.mean
            if cv > 0.5 {
                w.append(String(format: "%@: per-instance time varies a lot (coefficient of variation %.0f%%); "
                    + "another process may be interfering: run again on a quieter host or with more instances", d, cv * 100))
            }
            let out = totals.farOutliers
            if out > 0 {
                w.append(String(format: "%@: %llu of %llu instances are far outliers (beyond 3×IQR); medians are robust to them, "
                    + "but check the host for interference", d, out, totals.count))
            }
        }
        if let first = s.firstInstanceSeconds, totals.count >= 6, first > 5 * totals.median {
            w.append(String(format: "%@: the first measured instance took %.1f× the median; caches were cold: add --warmup", d,
                            first / totals.median))
        }
        if let drift = s.drift, drift.excludes(0), abs(drift.value) >= 0.1 {
            w.append(String(format: "%@: cost drifted %+.0f%% from the first block to the last (95%% interval %+.0f%%…%+.0f%%); "
                + "the driver's cost depends on how long it has run: look at the per-round figures before quoting one number",
                            d, drift.value * 100, (drift.interval?.lowerBound ?? 0) * 100, (drift.interval?.upperBound ?? 0) * 100))
        }
        let busy = max(load.before.loadAverage, load.after.loadAverage)
        if busy > Double(load.before.cores) * 0.75 + 1 {
            w.append(String(format: "the host was busy (load average %.1f on %d cores); compare only figures measured in one run, "
                + "or rerun when it is quiet", busy, load.before.cores))
        }
        let ticks = load.after.totalTicks &- load.before.totalTicks
        if ticks > 0 {
            let steal = Double(load.after.stealTicks &- load.before.stealTicks) / Double(ticks)
            if steal > 0.05 {
                w.append(String(format: "the hypervisor stole %.0f%% of CPU time during the run; figures from this host are noisy", steal * 100))
            }
        }
        return w
    }
}
