import CowbenchCore
import Foundation
import Glibc
import Testing

/// The committed reference run in results/ must be what `cowbench report`
/// makes of its own CSVs, byte for byte.
@Suite struct ReferenceRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let reference = root + "/results/2026-12-07-reference"
    static let parts = ["compare-1", "copy-up", "write-4k", "accumulate", "exhaust", "baseline"].map { reference + "/" + $0 }

    @Test func reportReproducesTheCommittedMarkdown() throws {
        let r = try CLI.run(["report"] + Self.parts)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try FileSystem.read(Self.reference + "/report.md")), "report.md differs from what `cowbench report` renders")
    }

    @Test func eachDirectoryKeepsTheReportItsRunWrote() throws {
        for dir in Self.parts {
            let r = try CLI.run(["report", dir])
            #expect(r.stdout == (try FileSystem.read(dir + "/report.md")), "\(dir)/report.md")
            let html = try CLI.run(["report", dir, "--format", "html"])
            #expect(html.stdout == (try FileSystem.read(dir + "/report.html")), "\(dir)/report.html")
        }
    }

    @Test func reportRefusesWhatIsNotAResultDirectory() throws {
        let r = try CLI.run(["report", Self.root + "/Sources"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("holds none of instances.csv"))
    }
}

/// The committed HTML report in a real headless browser: it loads, and the
/// page it builds holds every chart with its title.
@Suite struct HeadlessBrowserTests {
    @Test func referenceReportRendersEveryChart() throws {
        guard let chromium = Command.find("chromium") ?? Command.find("chromium-browser") else {
            Issue.record("chromium is missing; run scripts/setup.sh")
            return
        }
        let html = ReferenceRunTests.reference + "/report.html"
        let source = try FileSystem.read(html)
        let titles = source.components(separatedBy: "<svg ").dropFirst().compactMap {
            $0.components(separatedBy: "<title>").dropFirst().first?.components(separatedBy: "</title>").first
        }
        #expect(titles.count == 23, "latency CDFs for each comparison, disk and memory against live instances, the exhaustion timeline and recovery")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=/var/tmp/cowbench-chromium-\(getpid())"]
        defer { try? TreeRemover.remove("/var/tmp/cowbench-chromium-\(getpid())") }
        let dom = try CLI.runTool([chromium] + flags + ["--dump-dom", "file://" + html])
        #expect(dom.status == 0, "\(dom.stderr)")
        #expect(dom.stdout.components(separatedBy: "<svg ").count - 1 == titles.count, "the browser's DOM holds every chart")
        for t in titles { #expect(dom.stdout.contains("<title>\(t)</title>"), "chart '\(t)' missing from the rendered page") }
        let png = "/var/tmp/cowbench-report-\(getpid()).png"
        defer { try? FileSystem.unlink(png) }
        let shot = try CLI.runTool([chromium] + flags + ["--window-size=1280,4000", "--screenshot=" + png, "file://" + html])
        #expect(shot.status == 0, "\(shot.stderr)")
        #expect(try FileSystem.lstat(png).st_size > 50_000, "a screenshot with content")
    }
}
