import CowbenchCore
import Foundation
import Testing

/// The committed reference run in results/ must be what `cowbench report`
/// makes of its own CSVs, byte for byte.
@Suite struct ReferenceRunTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let reference = root + "/results/2026-11-26-reference"
    static let parts = ["compare", "copy-up", "accumulate", "exhaust", "baseline"].map { reference + "/" + $0 }

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
