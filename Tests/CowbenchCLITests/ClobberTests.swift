import CowbenchCore
import Foundation
import Glibc
import Testing

/// Results are never clobbered, and a journal never leads `cleanup` outside
/// what cowbench made.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ClobberTests {
    static let base = "/var/tmp/cowbench-clobber-\(getpid())"
    var state: String { Self.base + "/state" }

    func run(_ out: String, _ extra: [String] = [], instances: Int = 5) throws -> CLI.Result {
        try CLI.run(["run", "--driver", "overlay", "--instances", "\(instances)", "--warmup", "0", "--scratch-size", "1G",
                     "--state-dir", state, "--out", out] + extra)
    }

    @Test func anOutputDirectoryIsNeverReusedSilently() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let out = Self.base + "/out"
        #expect(try run(out).status == 0)
        let first = try FileSystem.read(out + "/instances.csv")
        let again = try run(out)
        #expect(again.status != 0 && again.stderr.contains("already holds") && again.stderr.contains("--force"), "\(again.all)")
        #expect(try FileSystem.read(out + "/instances.csv") == first, "the refused run changed nothing")
        let root = try run("/")
        #expect(root.status != 0 && root.stderr.contains("--out / is the root directory"), "\(root.all)")
        try FileSystem.write("old", to: out + "/exhaust.csv")
        let forced = try run(out, ["--force"], instances: 3)
        #expect(forced.status == 0, "\(forced.all)")
        #expect(try CLI.checkCSV(out + "/instances.csv") == 3, "--force replaced the rows, it did not add to them")
        #expect(!FileSystem.exists(out + "/exhaust.csv"), "old result files of cowbench's go with --force")
    }

    @Test func twoRunsCannotShareAnOutputDirectory() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let out = Self.base + "/shared"
        let first = try CLI.start(["run", "--driver", "overlay", "--instances", "100000", "--warmup", "0", "--scratch-size", "1G",
                                   "--state-dir", state, "--out", out])
        // Wait for a first row: a run stopped before it leaves no files.
        var waited = 0
        while ((try? FileSystem.read(out + "/instances.csv")) ?? "").split(separator: "\n").count < 2 && waited < 300 {
            usleep(50_000)
            waited += 1
        }
        let second = try run(out, ["--force"])
        kill(first.pid, SIGINT)
        let r = first.finish()
        #expect(second.status != 0 && second.stderr.contains("another cowbench run is writing to --out"), "\(second.all)")
        #expect(r.status == 128 + SIGINT, "\(r.all)")
        #expect(try CLI.checkCSV(out + "/instances.csv") > 0, "the first run's rows parse: nothing interleaved")
        #expect(CLI.leftovers(under: state).isEmpty)
    }

    /// A journal line cut short (ENOSPC, a crash) is not replayed, and a
    /// journal naming anything outside cowbench's directories is refused.
    @Test func cleanupStaysInsideCowbenchsDirectories() throws {
        defer { try? TreeRemover.remove(Self.base) }
        let victim = Self.base + "/precious"
        try FileSystem.createDirectories(victim + "/inside")
        try FileSystem.createDirectories(state + "/runs")
        try FileSystem.createDirectories(state + "/scratch/x")
        // A torn record, "+ dir .../scratch/x/instance2" cut short so that it names their parent.
        try FileSystem.write("+\tdir\t\(state)/scratch/x/instance\n+\tdir\t\(state)/scratch", to: state + "/runs/torn.journal")
        try FileSystem.write("+\tdir\t\(victim)\n", to: state + "/runs/foreign.journal")
        let r = try CLI.run(["cleanup", "--state-dir", state])
        #expect(r.status != 0, "a foreign journal is an error: \(r.all)")
        #expect(r.stdout.contains("refused \(state)/runs/foreign.journal"), "\(r.stdout)")
        #expect(FileSystem.exists(victim + "/inside"), "nothing outside the state dir was removed")
        #expect(FileSystem.exists(state + "/scratch"), "the torn line was not replayed as a parent")
        #expect(!FileSystem.exists(state + "/runs/torn.journal"), "the torn journal's whole records were cleaned up")
    }
}
