import CowbenchCore

/// One block of a run: its instances back to back, then the settle that
/// waits for the work they deferred.
public struct BlockRecord: Sendable, Equatable {
    public var round: Int
    /// Instances that completed without error.
    public var instances: Int
    public var failures: Int
    /// Elapsed time of the block's instances, less the probes' measuring.
    public var wallSeconds: Double
    /// syncfs, and on btrfs the commit and the cleaner, after the block.
    public var settleSeconds: Double
    /// false for a block a stop request cut short, which never settled.
    public var settled = true

    public init(round: Int, instances: Int, failures: Int, wallSeconds: Double, settleSeconds: Double, settled: Bool = true) {
        self.settled = settled
        self.round = round
        self.instances = instances
        self.failures = failures
        self.wallSeconds = wallSeconds
        self.settleSeconds = settleSeconds
    }

    /// What one instance of this block cost the host, deferred work included.
    public var sustainedSeconds: Double? { instances > 0 && settled ? (wallSeconds + settleSeconds) / Double(instances) : nil }
}

/// The aggregate of one driver's run. Failed instances are counted in
/// `failures` and nowhere else: not in the histograms, not in any
/// per-instance figure.
public struct RunSummary: Sendable {
    public var environment: RunEnvironment
    public var phases: [Phase: PhaseStatistics] = Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, PhaseStatistics()) })
    /// Instances that completed without error.
    public var instances = 0
    public var failures = 0
    public var blocks: [BlockRecord] = []
    /// Accumulate mode: destroying every kept instance, and the final settle.
    public var teardownSeconds: Double?
    public var firstError: String?
    /// Space probes that completed, and what they added in all.
    public var probes = 0
    public var probeBytes: Int64 = 0
    /// nil once any probe had no inode figure (btrfs).
    public var probeInodes: Int64? = 0
    /// The first and the latest complete block's per-instance totals, for drift.
    public var firstBlockTotals: [Double] = []
    public var lastBlockTotals: [Double] = []
    public var warnings: [String] = []
    /// Total time of the first timed instance, for the slow-start warning.
    public var firstInstanceSeconds: Double?
    /// Per-instance totals (create + start + run + destroy) of timed instances.
    public var totals = PhaseStatistics()
    /// What each space probe added to the run's memory cgroup.
    public var probeMemory: [Double] = []
    /// The run cgroup's growth from the first measured instance to the end
    /// of the last, before accumulate mode's teardown, with `liveInstances`
    /// kept alive at that moment.
    public var memoryTotalBytes: Int64?
    public var liveInstances = 0

    public init(environment: RunEnvironment) { self.environment = environment }

    public var wallSeconds: Double { blocks.reduce(0) { $0 + $1.wallSeconds } }
    public var settleSeconds: Double { blocks.reduce(0) { $0 + $1.settleSeconds } + (teardownSeconds ?? 0) }

    /// (wall time of the measured instances + every settle + accumulate
    /// mode's teardown) / instances: what a host pays per container in
    /// steady state, with a block bootstrap interval.
    public var sustained: Estimate? {
        // Only settled blocks: one a stop cut short has unpaid deferred work.
        let full = blocks.filter { $0.settled && $0.instances > 0 }
        let n = full.reduce(0) { $0 + $1.instances }
        guard n > 0 else { return nil }
        let extra = teardownSeconds ?? 0
        let value = (full.reduce(0) { $0 + $1.wallSeconds + $1.settleSeconds } + extra) / Double(n)
        let shift = extra / Double(n)
        let ci = Bootstrap.ratioOfSums(full.map { ($0.wallSeconds + $0.settleSeconds, Double($0.instances)) }, seed: environment.seed)
        return Estimate(value, ci.map { ($0.lowerBound + shift)...($0.upperBound + shift) })
    }

    public var instancesPerSecond: Double { sustained.map { $0.value > 0 ? 1 / $0.value : 0 } ?? 0 }
    /// Mean of the space probes; nil without any.
    public var bytesPerInstance: Double? { probes > 0 ? Double(probeBytes) / Double(probes) : nil }
    /// The headline memory figure, independent of which cgroup the kernel
    /// charged a shared page to: with instances kept alive, the run's total
    /// over the live instances; otherwise the median of what each probe
    /// (run alone) added to the run's cgroup, with its interval.
    public var memoryPerInstance: Estimate? {
        if liveInstances > 0, let total = memoryTotalBytes { return Estimate(Double(total) / Double(liveInstances), nil) }
        return probeMemory.isEmpty ? nil : Self.estimate(probeMemory)
    }

    public var inodesPerInstance: Double? { probes > 0 ? probeInodes.map { Double($0) / Double(probes) } : nil }

    /// The last complete block's median total against the first's, minus 1.
    public var drift: Estimate? {
        guard blocks.count >= 2, !firstBlockTotals.isEmpty, !lastBlockTotals.isEmpty else { return nil }
        let first = Self.estimate(firstBlockTotals), last = Self.estimate(lastBlockTotals)
        guard let r = last.ratio(to: first) else { return nil }
        return Estimate(r.value - 1, r.interval.map { ($0.lowerBound - 1)...($0.upperBound - 1) })
    }

    /// The median of `values` with its 95% order-statistic interval.
    public static func estimate(_ values: [Double]) -> Estimate {
        let s = values.sorted()
        let median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        return Estimate(median, MedianInterval.of(sorted: s))
    }

    /// Adds one instance. `timings: false` keeps its space figures and its
    /// count but leaves its phase times out of the histograms.
    public mutating func add(_ r: InstanceResult, timings: Bool = true) {
        if let e = r.error {
            failures += 1
            firstError = firstError ?? "instance \(r.index): \(e)"
            return
        }
        instances += 1
        if timings {
            for p in Phase.allCases { if let s = r.seconds(p) { phases[p]!.record(seconds: s) } }
            totals.record(seconds: r.total)
            if firstInstanceSeconds == nil { firstInstanceSeconds = r.total }
        }
        if r.probe, let b = r.addedBytes {
            probes += 1
            probeBytes += b
            probeInodes = r.addedInodes.flatMap { i in probeInodes.map { $0 + i } }
        }
        if r.probe, let m = r.addedMemory { probeMemory.append(Double(m)) }
    }
}
