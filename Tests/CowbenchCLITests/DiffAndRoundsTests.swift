import CSV
import CowbenchCore
import Foundation
import Glibc
import Testing

/// `diff` on real runs, and the interleaved rounds of a real `compare`.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct DiffAndRoundsTests {
    static let base = "/var/tmp/cowbench-diff-\(getpid())"

    static func realRun(files: Int, name: String) throws -> String {
        let out = base + "/" + name
        let r = try CLI.run(["run", "--driver", "overlay", "--workload", "write", "--files", "\(files)", "--instances", "30",
                             "--block", "10", "--warmup", "1", "--scratch-size", "1G", "--state-dir", base + "/state", "--out", out])
        #expect(r.status == 0, "\(r.all)")
        return out
    }

    @Test func diffOfRealRuns() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let small = try Self.realRun(files: 10, name: "small"), large = try Self.realRun(files: 2000, name: "large")

        let same = try CLI.run(["diff", small, small])
        #expect(same.status == 0, "a run against itself: \(same.all)")
        let figureLines = same.stdout.split(separator: "\n").filter { $0.hasPrefix("overlay") }
        #expect(figureLines.count == 5, "sustained and four phases: \(same.stdout)")
        #expect(figureLines.allSatisfy { $0.contains("  ~  ") }, "all ~ against itself: \(same.stdout)")

        // Phases the workload does not touch (create) move by up to 11% between
        // two runs on this noisy host (README): the threshold it advises.
        let worse = try CLI.run(["diff", small, large, "--threshold", "15%"])
        #expect(worse.status == 2, "2000 files take longer than 10: \(worse.all)")
        let runLine = worse.stdout.split(separator: "\n").first { $0.contains("  run  ") }.map(String.init) ?? ""
        #expect(runLine.contains("%") && !runLine.contains("  ~  "), "run changed significantly: \(runLine)")

        let better = try CLI.run(["diff", large, small, "--format", "json", "--threshold", "15%"])
        #expect(better.status == 4, "only improvements the other way: \(better.all)")
        let json = try JSONSerialization.jsonObject(with: Data(better.stdout.utf8)) as? [String: Any]
        #expect((json?["rows"] as? [Any])?.count == 5)

        let huge = try CLI.run(["diff", small, large, "--threshold", "100000%"])
        #expect(huge.status == 0, "a threshold above every change ignores them all: \(huge.all)")

        let gobench = try CLI.run(["report", small, "--format", "gobench"])
        let lines = gobench.stdout.split(separator: "\n")
        #expect(lines.contains("kernel: \(HostInfo.kernelRelease)"))
        let create = lines.filter { $0.hasPrefix("BenchmarkCreate/driver=overlay/image=busybox/workload=write(files=10)") }
        #expect(create.count == 27, "30 instances less 3 probes (every 10th)")
        #expect(create.allSatisfy { $0.hasSuffix(" ns/op") && $0.split(separator: " ").count == 4 })
    }

    /// Every round runs one block of each driver, in an order shuffled from
    /// the printed seed; every row says which round it belongs to.
    @Test func compareInterleavesDriversRoundByRound() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let out = Self.base + "/cmp"
        let r = try CLI.run(["compare", "--drivers", "overlay,copy", "--instances", "12", "--block", "4", "--seed", "42",
                             "--warmup", "1", "--scratch-size", "1G", "--state-dir", Self.base + "/state", "--out", out])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stderr.contains("in 3 rounds of 4, order shuffled with --seed 42"), "\(r.stderr)")
        let reader = try CSVReader(string: try FileSystem.read(out + "/instances.csv"), hasHeaderRow: true)
        let header = reader.headerRow!
        let (d, round) = (header.firstIndex(of: "driver")!, header.firstIndex(of: "round")!)
        var sequence: [String] = []
        while let row = reader.next() { sequence.append("\(row[d])@\(row[round])") }
        #expect(sequence.count == 24)
        // Rows come out in the order they ran: each round holds both drivers' blocks before the next round starts.
        for k in 0..<3 {
            let slice = sequence[(k * 8)..<((k + 1) * 8)]
            #expect(Set(slice.map { $0.split(separator: "@")[1] }) == ["\(k)"], "round \(k): \(slice)")
            #expect(Set(slice.map { $0.split(separator: "@")[0] }) == ["overlay", "copy"])
        }
        let rounds = try FileSystem.read(out + "/rounds.csv").split(separator: "\n")
        #expect(rounds.count == 1 + 6, "a row per driver per round")
        #expect(CLI.leftovers(under: Self.base).isEmpty)
    }
}
