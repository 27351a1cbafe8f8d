import CowbenchCore
@testable import CowbenchExport
@testable import CowbenchHarness
import Testing

@Suite struct PhaseStatisticsTests {
    @Test func percentilesOfKnownInputs() {
        var s = PhaseStatistics()
        for ms in 1...100 { s.record(seconds: Double(ms) / 1000) }
        #expect(s.count == 100)
        #expect(abs(s.median - 0.050) < 0.0001)
        #expect(abs(s.percentile(90) - 0.090) < 0.0001)
        #expect(abs(s.percentile(99) - 0.099) < 0.0001)
        #expect(abs(s.max - 0.100) < 0.0001)
    }

    /// The ranks of the distribution-free 95% interval, checked against the
    /// binomial tables (e.g. Conover, Practical Nonparametric Statistics).
    @Test func medianIntervalRanksMatchTheBinomialTable() {
        #expect(MedianInterval.ranks(count: 5) == nil, "min..max of 5 covers only 93.75%")
        #expect(MedianInterval.ranks(count: 6)! == (1, 6))
        #expect(MedianInterval.ranks(count: 10)! == (2, 9))
        #expect(MedianInterval.ranks(count: 20)! == (6, 15))
        #expect(MedianInterval.ranks(count: 100)! == (40, 61))
    }

    @Test func medianEstimateFromTheHistogramUsesThoseRanks() {
        var s = PhaseStatistics()
        for ms in 1...20 { s.record(seconds: Double(ms) / 1000) }
        let e = s.medianEstimate
        #expect(abs(e.interval!.lowerBound - 0.006) < 0.00001 && abs(e.interval!.upperBound - 0.015) < 0.00001)
    }

    @Test func farOutliersAreCounted() {
        var s = PhaseStatistics()
        for _ in 0..<50 { s.record(seconds: 0.001) }
        for _ in 0..<50 { s.record(seconds: 0.0011) }
        #expect(s.farOutliers == 0)
        s.record(seconds: 0.5)
        #expect(s.farOutliers == 1)
    }

    @Test func mannWhitneySeparatesShiftedSamplesAndNotEqualOnes() {
        let low = (1...10).map(Double.init), high = (11...20).map(Double.init)
        let p = MannWhitney.pValue(low, high)!
        #expect(p < 0.001, "no overlap at all: p = \(p)")
        let interleaved = MannWhitney.pValue(stride(from: 1.0, to: 20, by: 2).map { $0 }, stride(from: 2.0, to: 21, by: 2).map { $0 })!
        #expect(interleaved > 0.5, "interleaved samples: p = \(interleaved)")
        #expect(MannWhitney.pValue([1, 1, 1], [1, 1, 1]) == nil, "all tied: no test")
    }

    @Test func bootstrapIsSeededAndBracketsTheEstimate() {
        let blocks = (0..<10).map { i in (numerator: 1.0 + Double(i % 3) * 0.1, denominator: 20.0) }
        let a = Bootstrap.ratioOfSums(blocks)!, b = Bootstrap.ratioOfSums(blocks)!
        #expect(a == b, "same seed, same interval")
        let point = blocks.reduce(0) { $0 + $1.numerator } / blocks.reduce(0) { $0 + $1.denominator }
        #expect(a.contains(point))
        #expect(Bootstrap.ratioOfSums(Array(blocks.prefix(2))) == nil, "two blocks are too few")
    }

    @Test func roundOrderIsASeededPermutation() {
        let orders = (0..<20).map { Harness.order(count: 3, round: $0, seed: 42) }
        #expect(orders.allSatisfy { $0.sorted() == [0, 1, 2] })
        #expect(Set(orders.map { "\($0)" }).count > 2, "the order changes from round to round")
        #expect(orders == (0..<20).map { Harness.order(count: 3, round: $0, seed: 42) }, "the same seed replays it")
        #expect(orders != (0..<20).map { Harness.order(count: 3, round: $0, seed: 43) })
    }

    @Test func ratioIntervalIsConservative() {
        let a = Estimate(2, 1.8...2.2), b = Estimate(1, 0.9...1.1)
        let r = a.ratio(to: b)!
        #expect(r.value == 2 && abs(r.interval!.lowerBound - 1.8 / 1.1) < 1e-9 && abs(r.interval!.upperBound - 2.2 / 0.9) < 1e-9)
        #expect(r.excludes(1))
        #expect(!Estimate(1.05, 0.9...1.2).excludes(1))
    }

    @Test func failuresStayOutOfEveryPerInstanceFigure() {
        var sum = RunSummary(environment: CSVTests.env)
        var ok = InstanceResult(index: 0)
        ok.create = 0.001; ok.probe = true; ok.addedBytes = 4096; ok.addedInodes = 2
        var plain = InstanceResult(index: 1)
        plain.create = 0.002
        var bad = InstanceResult(index: 2)
        bad.create = 0.5; bad.probe = true; bad.addedBytes = 1 << 30
        bad.error = PhaseError(phase: .run, message: "exited with status 1")
        for r in [ok, plain, bad] { sum.add(r, timings: !r.probe) }
        #expect(sum.instances == 2 && sum.failures == 1)
        #expect(sum.bytesPerInstance == 4096 && sum.inodesPerInstance == 2, "the failed probe's bytes are not counted")
        #expect(sum.phases[.create]!.count == 1, "probes and failures stay out of the histograms")
        #expect(sum.firstError == "instance 2: run: exited with status 1")
    }

    @Test func unknownInodesStayUnknown() {
        var sum = RunSummary(environment: CSVTests.env)
        var r = InstanceResult(index: 0)
        r.probe = true; r.addedBytes = 8192
        sum.add(r)
        #expect(sum.bytesPerInstance == 8192 && sum.inodesPerInstance == nil)
        #expect(TerminalTable.spaceLine(sum).contains("inodes n/a (ext4 has no inode count)"))
    }

    /// Reading 200 MiB takes hundreds of milliseconds: the interval column
    /// grows to hold it whole, and the columns after it stay aligned.
    @Test func wideIntervalsAreNeverCut() {
        var sum = RunSummary(environment: CSVTests.env)
        for i in 0..<30 {
            var r = InstanceResult(index: i)
            r.create = 0.001; r.start = 0.001; r.run = 0.150 + Double(i) * 0.003; r.destroy = 0.001
            sum.add(r)
        }
        let lines = TerminalTable.render([sum]).split(separator: "\n").map(String.init)
        let run = lines.first { $0.hasPrefix("  run ") } ?? ""
        let header = lines.first { $0.contains("95% CI of p50") } ?? ""
        #expect(run.contains(" ms]"), "the interval ends with its unit: \(run)")
        #expect(header.count == run.count, "header and row align:\n\(header)\n\(run)")
    }

    @Test func sustainedChargesSettleAndTeardown() {
        var sum = RunSummary(environment: CSVTests.env)
        for i in 0..<40 { var r = InstanceResult(index: i); r.create = 0.001; sum.add(r) }
        sum.blocks = (0..<4).map { BlockRecord(round: $0, instances: 10, failures: 0, wallSeconds: 0.01, settleSeconds: 0.01) }
        #expect(abs(sum.sustained!.value - 0.002) < 1e-12, "(wall 0.04 s + settle 0.04 s) / 40")
        sum.teardownSeconds = 0.04
        #expect(abs(sum.sustained!.value - 0.003) < 1e-12)
    }
}

@Suite struct CSVTests {
    static let env = RunEnvironment(runID: "r1", host: "h", kernel: "6.18", driver: "overlay", image: "busybox",
                                    workload: "start", mode: "churn", filesystem: "ext4",
                                    mountOptions: "rw,relatime", cowbenchVersion: "0.1.0")

    @Test func instancesHeaderNamesTheColumnsOtherToolsRead() {
        let header = InstancesCSV.header().trimmingCharacters(in: .newlines).split(separator: ",").map(String.init)
        for c in ["rounds", "block", "seed", "parallel", "warmup", "usage_every", "isolation", "round", "probe", "instance_bytes", "instance_inodes",
                  "memory_bytes", "page_cache_bytes", "cold", "memory_cgroup"] {
            #expect(header.contains(c), "instances.csv has \(c)")
        }
        #expect(header.count == Set(header).count, "no column twice")
    }

    @Test func summaryNamesTheMemoryColumns() {
        let header = SummaryCSV.columns
        for c in ["memory_per_instance_bytes", "memory_total_bytes", "live_instances", "cold", "memory_cgroup"] {
            #expect(header.contains(c), "summary.csv has \(c)")
        }
        var s = RunSummary(environment: Self.env)
        s.memoryTotalBytes = 8 << 20
        s.liveInstances = 4
        #expect(s.memoryPerInstance?.value == Double(2 << 20), "kept instances: the total over the live ones")
        s.liveInstances = 0
        s.probeMemory = [3, 1, 2]
        #expect(s.memoryPerInstance?.value == 2, "churn: the probes' median")
    }

    @Test func rowsQuoteAndLeaveUnknownsEmpty() {
        var r = InstanceResult(index: 7)
        r.round = 2
        r.create = 0.0012345; r.start = 0.0005; r.run = 0.0004; r.destroy = 0.001
        r.cgroupJoin = 0.0125
        r.error = PhaseError(phase: .run, message: "said \"no\", twice")
        let row = InstancesCSV.row(r, Self.env)
        // The join is not in total_s: it is kept out of start.
        #expect(row == "r1,h,6.18,overlay,busybox,start,churn,ext4,\"rw,relatime\",0.1.0,1,0,0,1,0,0,container,0,none,0,,7,2,0,0.001234,0.000500,0.000400,"
            + "0.001000,0.003135,0.012500,,,,,,,,,,,,,,,,,,,run,,\"said \"\"no\"\", twice\"\n")
    }

    @Test func summaryHasTheIntervalColumns() {
        let text = SummaryCSV.render([RunSummary(environment: Self.env)])
        let header = text.split(separator: "\n")[0].split(separator: ",").map(String.init)
        for c in ["sustained_s", "sustained_ci_low_s", "sustained_ci_high_s", "settle_s", "drift"]
            + Phase.allCases.flatMap({ ["\($0.rawValue)_p50_ci_low_s", "\($0.rawValue)_p50_ci_high_s"] }) {
            #expect(header.contains(c), "summary.csv has \(c)")
        }
        #expect(text.split(separator: "\n").count == 2)
    }

    static func summary(_ driver: String, create ms: [Double]) -> RunSummary {
        var s = RunSummary(environment: env)
        s.environment.driver = driver
        for v in ms { var r = InstanceResult(index: 0); r.create = v / 1000; s.add(r) }
        return s
    }

    @Test func verdictNamesTheFasterDriverWithItsInterval() {
        let fast = Self.summary("overlay", create: (0..<20).map { 1 + Double($0) * 0.01 })
        let slow = Self.summary("copy", create: (0..<20).map { 12.4 + Double($0) * 0.01 })
        let line = Verdicts.lines([slow, fast]).first { $0.contains("creates") }!
        #expect(line.hasPrefix("overlay creates instances 11.4"), "12.495 ms / 1.095 ms: \(line)")
        #expect(line.contains("×–") && line.contains("faster than copy"), "\(line)")
    }

    @Test func overlappingIntervalsGiveATildeNeverAWin() {
        let a = Self.summary("overlay", create: (0..<20).map { 1 + Double($0 % 10) * 0.1 })
        let b = Self.summary("btrfs", create: (0..<20).map { 1.05 + Double($0 % 10) * 0.1 })
        let line = Verdicts.lines([a, b]).first { $0.contains("create") }!
        #expect(line.contains("~"), "\(line)")
        #expect(!line.contains("faster"), "\(line)")
    }
}
