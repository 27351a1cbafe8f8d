import CSV
import CowbenchCore
import Foundation
import Glibc
import Testing

/// `sweep` on the real kernel: rows per driver and point, the chart, and
/// the mount API overlay switches to past a page of options.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct SweepTests {
    @Test func threePointsGiveThreeRowsPerDriverAndCharts() throws {
        let base = "/var/tmp/cowbench-sweep-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        let out = base + "/out"
        let r = try CLI.run(["sweep", "--drivers", "overlay,btrfs", "--image", "synthetic:files=5", "--param", "layers=1,2,150", "--instances", "4", "--block", "4",
                             "--warmup", "0", "--scratch-size", "1G", "--state-dir", base + "/state", "--out", out])
        #expect(r.status == 0, "\(r.all)")
        #expect(CLI.leftovers(under: base).isEmpty, "\(CLI.leftovers(under: base))")
        let reader = try CSVReader(stream: InputStream(fileAtPath: out + "/summary.csv")!, hasHeaderRow: true)
        var rows: [[String: String]] = []
        while let row = reader.next() { rows.append(Dictionary(uniqueKeysWithValues: zip(reader.headerRow!, row))) }
        for driver in ["overlay", "btrfs"] {
            let mine = rows.filter { $0["driver"] == driver }
            #expect(mine.map { $0["sweep_layers"] ?? "" } == ["1", "2", "150"], "\(driver): \(mine.map { $0["sweep_layers"] ?? "" })")
            #expect(mine.allSatisfy { !($0["sustained_s"] ?? "").isEmpty })
        }
        let overlayAPI = rows.filter { $0["driver"] == "overlay" }.map { $0["mount_api"] ?? "" }
        #expect(overlayAPI == ["mount(2)", "mount(2)", "fsopen/fsconfig"], "the mechanism change is recorded: \(overlayAPI)")
        let html = try FileSystem.read(out + "/sweep.html")
        #expect(html.components(separatedBy: "<svg").count - 1 >= 3, "charts of the figures against layers")
        #expect(html.contains("overlay: fsopen/fsconfig"), "the chart marks where overlay changed API")
    }
}
