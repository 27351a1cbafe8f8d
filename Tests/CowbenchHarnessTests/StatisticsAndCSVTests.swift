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

    @Test func summaryCountsFailuresAndBytes() {
        var sum = RunSummary(environment: CSVTests.env)
        var ok = InstanceResult(index: 0)
        ok.create = 0.001; ok.addedBytes = 4096; ok.addedInodes = 2
        var bad = InstanceResult(index: 1)
        bad.error = PhaseError(phase: .run, message: "exited with status 1")
        sum.add(ok)
        sum.add(bad)
        #expect(sum.instances == 2 && sum.failures == 1)
        #expect(sum.bytesPerInstance == 2048)
        #expect(sum.phases[.create]!.count == 1 && sum.phases[.run]!.count == 0)
        #expect(sum.firstError == "instance 1: run: exited with status 1")
    }
}

@Suite struct CSVTests {
    static let env = RunEnvironment(runID: "r1", host: "h", kernel: "6.18", driver: "overlay", image: "busybox",
                                    workload: "start", mode: "churn", filesystem: "ext4",
                                    mountOptions: "rw,relatime", cowbenchVersion: "0.1.0")

    @Test func instancesHeaderIsStable() {
        #expect(InstancesCSV.header() == """
            run_id,host,kernel,driver,image,workload,mode,fs_type,mount_options,cowbench_version,instance,create_s,start_s,\
            run_s,destroy_s,total_s,instance_bytes,instance_inodes,driver_usage_bytes,driver_usage_inodes,fs_used_bytes,\
            fs_free_bytes,btrfs_data_used,btrfs_data_total,btrfs_meta_used,btrfs_meta_total,btrfs_system_used,\
            btrfs_system_total,btrfs_global_reserve,btrfs_unallocated,error_phase,errno,error

            """)
    }

    @Test func rowsQuoteAndLeaveBtrfsColumnsEmpty() {
        var r = InstanceResult(index: 7)
        r.create = 0.0012345; r.start = 0.0005; r.run = 0.0004; r.destroy = 0.001
        r.error = PhaseError(phase: .run, message: "said \"no\", twice")
        let row = InstancesCSV.row(r, Self.env)
        #expect(row == "r1,h,6.18,overlay,busybox,start,churn,ext4,\"rw,relatime\",0.1.0,7,0.001234,0.000500,0.000400,"
            + "0.001000,0.003135,0,0,,,,,,,,,,,,,run,,\"said \"\"no\"\", twice\"\n")
    }

    @Test func summaryHasAColumnPerPhasePercentile() {
        let text = SummaryCSV.render([RunSummary(environment: Self.env)])
        let header = text.split(separator: "\n")[0]
        #expect(header.hasSuffix("destroy_p50_s,destroy_p90_s,destroy_p99_s,destroy_max_s"))
        #expect(text.split(separator: "\n").count == 2)
    }

    @Test func verdictNamesTheFasterDriver() {
        var fast = RunSummary(environment: Self.env), slow = RunSummary(environment: Self.env)
        slow.environment.driver = "copy"
        for _ in 0..<10 { fast.phases[.create]!.record(seconds: 0.001); slow.phases[.create]!.record(seconds: 0.0124) }
        let lines = TerminalTable.verdicts([slow, fast])
        #expect(lines.first == "overlay creates instances 12.4× faster than copy (median)")
    }
}
