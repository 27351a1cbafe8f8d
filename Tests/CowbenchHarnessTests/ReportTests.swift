import CowbenchCore
@testable import CowbenchExport
@testable import CowbenchHarness
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Reports from hand-made results: CSVs written by the real CSV exporters,
/// read back, and rendered. Markdown and JSON are compared with golden files.
@Suite struct ReportTests {
    static func env(_ driver: String, mode: String = "churn") -> RunEnvironment {
        RunEnvironment(runID: "r1", host: "h", kernel: "6.18", driver: driver, image: "busybox", workload: "start", mode: mode,
                       filesystem: driver == "btrfs" ? "btrfs" : "ext4", mountOptions: "rw", cowbenchVersion: "0.1.0")
    }

    static var files: ReportData.Files {
        var instances = InstancesCSV.header()
        var summaries: [RunSummary] = []
        for (d, scale) in [("overlay", 1.0), ("copy", 20.0)] {
            var s = RunSummary(environment: env(d, mode: "accumulate"))
            for i in 0..<5 {
                var r = InstanceResult(index: i)
                r.create = 0.0003 * scale * Double(i + 1)
                r.start = 0.001
                r.run = 0.0005
                if i % 2 == 0 {
                    r.probe = true
                    r.addedBytes = Int64(4096 * scale)
                    r.addedInodes = 2
                }
                r.filesystem = FilesystemStats(type: 0xEF53, blockSize: 4096, totalBytes: 1 << 30,
                                               freeBytes: (1 << 30) - UInt64((i + 1) << 20) * UInt64(scale),
                                               availableBytes: 0, totalInodes: 1000, freeInodes: 900)
                r.runMemoryBytes = Int64(i + 1) << 20 * Int64(scale)
                if d == "copy" && i == 4 { r.error = PhaseError(phase: .create, SyscallError("open", path: "/x", errno: ENOSPC)) }
                instances += InstancesCSV.row(r, env(d, mode: "accumulate"))
                s.add(r, timings: !r.probe)
            }
            s.blocks = [BlockRecord(round: 0, instances: s.instances, failures: s.failures, wallSeconds: 0.01 * scale, settleSeconds: 0.001)]
            s.teardownSeconds = 0.002 * scale
            summaries.append(s)
        }
        return ["instances.csv": instances, "summary.csv": SummaryCSV.render(summaries), "rounds.csv": RoundsCSV.render(summaries)]
    }

    static var exhaustFiles: ReportData.Files {
        let o = ExhaustReportTests.outcome
        var samples = ExhaustCSV.header()
        for n in 0...5 { samples += ExhaustCSV.sample(ExhaustReportTests.sample(n, avail: 215 << 20, unallocated: UInt64(6 - n) << 20), o.environment) }
        return ["exhaust.csv": samples, "exhaust-summary.csv": ExhaustCSV.summary(o)]
    }

    static var claimsFiles: ReportData.Files {
        let results = [
            ClaimResult(id: "copy-up", claim: "Overlay copies up whole files", source: "Docker docs",
                        figures: [ClaimFigure("overlay per instance", Double(64 << 20), .bytes)], threshold: "at least 90%", verdict: .holds),
            ClaimResult(id: "redirect-dir", claim: "EXDEV without redirect_dir", source: "kernel docs", figures: [],
                        threshold: "EXDEV", verdict: .cannotTest, reason: "the kernel refused redirect_dir=on"),
        ]
        return ["claims.csv": ClaimsCSV.render(results, host: "h", kernel: "6.18", version: "0.1.0")]
    }

    static var data: ReportData {
        var d = ReportData()
        try! d.add(files)
        try! d.add(exhaustFiles)
        try! d.add(claimsFiles)
        return d
    }

    /// Compares with Golden/<name>; COWBENCH_RECORD_GOLDEN=1 rewrites the file
    /// instead (then review the diff before committing it).
    static func expectGolden(_ text: String, _ name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name)")
        if ProcessInfo.processInfo.environment["COWBENCH_RECORD_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: url, encoding: .utf8)))
    }

    @Test func markdownMatchesGolden() throws { try Self.expectGolden(MarkdownReport.render(Self.data), "report.md") }

    @Test func jsonMatchesGolden() throws { try Self.expectGolden(JSONReport.render(Self.data), "report.json") }

    @Test func readingBackGivesTheSameSummary() throws {
        let runs = Self.data.runs
        #expect(runs.map(\.environment.driver) == ["overlay", "copy"])
        let copy = runs[1].summary
        #expect(copy.instances == 4 && copy.failures == 1, "the failed instance is counted apart")
        #expect(copy.phases[.create]!.count == 2, "instances 1 and 3: 0 and 2 are probes, 4 failed")
        #expect(abs(copy.phases[.create]!.median - 0.012) < 0.0001)
        #expect(copy.bytesPerInstance == 81920, "the mean of the probes that completed")
        #expect(copy.teardownSeconds == 0.04)
    }

    /// Every chart is well-formed SVG with a title, two axes with labels,
    /// a legend, and a series per driver.
    @Test func htmlChartsAreCompleteAndSelfContained() throws {
        let html = HTMLReport.render(Self.data)
        #expect(!html.contains("<script"), "no scripts")
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").count - 1 == html.components(separatedBy: "http://www.w3.org/2000/svg").count - 1,
                "nothing fetched: the only URL is the SVG namespace")
        let svgs = html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        // create, start and run CDFs, disk and memory against live instances, the exhaustion timeline, the recovery bars.
        #expect(svgs.count == 7, "\(svgs.count) charts")
        for svg in svgs {
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
            #expect(svg.contains("class=\"chart-title\""))
            #expect(svg.contains("class=\"axis x-axis\"") && svg.contains("class=\"axis y-axis\""))
            #expect(svg.contains("class=\"axis-label\""))
            #expect(svg.contains("class=\"legend\""))
        }
        let cdf = svgs.first { $0.contains("create: latency distribution") }!
        #expect(cdf.contains("data-series=\"overlay\"") && cdf.contains("data-series=\"copy\""))
        #expect(cdf.contains("create time (log scale)") && cdf.contains("instances at or below (%)"))
        let disk = svgs.first { $0.contains("Disk used as instances accumulate") }!
        #expect(disk.contains("scratch filesystem used (MiB)") && disk.contains("live instances"))
        let memory = svgs.first { $0.contains("Memory as instances accumulate") }!
        #expect(memory.contains("charged to the run's memory cgroup (MiB)") && memory.contains("data-series=\"copy\""))
        #expect(html.contains("The documentation's claims, measured on h (kernel 6.18)") && html.contains("the kernel refused redirect_dir=on"))
        let timeline = svgs.first { $0.contains("until ENOSPC") }!
        for series in ["df available", "metadata used", "metadata allocated", "global reserve", "unallocated", "data used"] {
            #expect(timeline.contains("data-series=\"\(series)\""), "timeline lacks \(series)")
        }
        #expect(timeline.contains("ENOSPC at instance 6"))
        #expect(svgs.last!.contains("class=\"bar\""))
    }
}
