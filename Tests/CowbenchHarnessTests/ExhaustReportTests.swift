import CowbenchCore
@testable import CowbenchExport
@testable import CowbenchHarness
import Testing

/// The exhaustion CSVs and explanation, from hand-made numbers.
@Suite struct ExhaustReportTests {
    static func sample(_ n: Int, avail: UInt64, unallocated: UInt64) -> ExhaustSample {
        let fs = FilesystemStats(type: FilesystemStats.btrfsMagic, blockSize: 4096, totalBytes: 512 << 20,
                                 freeBytes: avail, availableBytes: avail, totalInodes: 0, freeInodes: 0)
        var b = BtrfsSpace()
        b.deviceSize = 512 << 20
        b.dataTotal = 431 << 20; b.dataUsed = 215 << 20
        b.metadataTotal = 32 << 20; b.metadataUsed = 24 << 20; b.metadataProfile = "DUP"
        b.globalReserveTotal = 5 << 20
        b.unallocated = unallocated
        return ExhaustSample(instance: n, seconds: 1.5, filesystem: fs, btrfs: b)
    }

    static var outcome: ExhaustOutcome {
        let s = sample(5, avail: 215 << 20, unallocated: 1 << 20)
        var o = ExhaustOutcome(environment: CSVTests.env, mkfs: "mkfs.btrfs -q -f -K", reclaim: "", instancesCreated: 5, seconds: 20)
        o.failure = ExhaustFailure(instance: 6, phase: "write", call: "mkdir", errno: "ENOSPC", path: "/x/e6/cowbench-exhaust",
                                   message: "", sample: s, classification: .metadata)
        o.steps = [RecoveryStep(name: "balance -dusage=50", seconds: 0.08, before: s,
                                after: sample(0, avail: 215 << 20, unallocated: 28 << 20), relocated: 1, error: nil, errno: nil)]
        o.usableAgain = true
        return o
    }

    @Test func summaryHasTheColumnsTheIssueNames() {
        for c in ["step", "instance", "errno", "classification", "fs_size_bytes", "df_avail_bytes", "data_used", "data_total",
                  "meta_used", "meta_total", "unallocated", "seconds", "cleaner_backlog", "peak_meta_used", "peak_cleaner_backlog",
                  "space_back_s"] {
            #expect(ExhaustCSV.summaryColumns.contains(c), "missing \(c)")
        }
        let lines = ExhaustCSV.summary(Self.outcome).split(separator: "\n")
        #expect(lines.count == 4, "header, failure, one step, the proof")
        #expect(lines[1].contains(",failure,6,write,mkdir,ENOSPC,/x/e6/cowbench-exhaust,metadata,"))
        #expect(lines[2].contains(",balance -dusage=50,0,recover,") && lines[2].hasSuffix(",1,yes,0.080000,,,,"),
                "churn columns stay empty on a step row")
        #expect(lines[3].contains("usable"))
    }

    @Test func explanationCarriesTheNumbers() {
        let text = ExhaustReport.explain(Self.outcome)
        #expect(text.hasPrefix("Instance 6 failed with ENOSPC in mkdir on /x/e6/cowbench-exhaust"))
        #expect(text.contains("metadata 24/32 MiB (DUP"))
        #expect(text.contains("unallocated 1 MiB, not above the 102 MiB the kernel keeps back for a data chunk (2 times over for DUP), so metadata could not grow"))
        #expect(text.contains("df still reported 215 MiB available (42% of 512 MiB)"))
        #expect(ExhaustReport.render(Self.outcome).contains("Helped: balance -dusage=50."))
    }

    @Test func survivingIsSaidPlainly() {
        var o = Self.outcome
        o.failure = nil
        #expect(ExhaustReport.explain(o).hasPrefix("No ENOSPC after 5 instances"))
        #expect(ExhaustCSV.summary(o).contains(",survived,5,"))
    }
}
