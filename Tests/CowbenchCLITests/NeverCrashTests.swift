import CSV
import CowbenchCore
import Foundation
import Glibc
import Testing

/// Inputs that once crashed, hung or invented a result: each now ends with
/// a sentence that names the file and what is wrong, and leaves nothing.
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct NeverCrashTests {
    static let base = "/var/tmp/cowbench-nocrash-\(getpid())"

    @Test func importOfWhatIsNotAnArchiveSaysSo() throws {
        let dir = Self.base + "/import"
        try FileSystem.createDirectories(dir)
        defer { try? TreeRemover.remove(Self.base) }
        try FileSystem.write("just some text\n", to: dir + "/notes.txt")
        try FileSystem.write([UInt8]((0..<65536).map { _ in UInt8.random(in: 0...255) }), to: dir + "/random.bin")
        // A real tar cut short in its second block.
        let tar = try CLI.runTool(["/usr/bin/tar", "-C", "/usr/share/doc", "-cf", dir + "/whole.tar", "util-linux"])
        #expect(tar.status == 0)
        let whole = try FileSystem.readPrefix(dir + "/whole.tar", bytes: 3000)
        try FileSystem.write(whole, to: dir + "/cut.tar")
        for name in ["notes.txt", "random.bin", "cut.tar"] {
            let r = try CLI.run(["image", "import", dir + "/" + name, "--name", "x", "--state-dir", Self.base + "/state"])
            #expect(r.status == 1, "\(name): \(r.all)")
            #expect(r.stderr.contains("\(dir)/\(name) is not"), "\(name): \(r.stderr)")
            #expect(!r.all.contains("PROGRAMMER ERROR") && !r.all.contains("Fatal error"), "\(name): \(r.all)")
            let images = (try? FileSystem.list(Self.base + "/state/images")) ?? []
            #expect(images.isEmpty, "\(name) left \(images)")
        }
    }

    /// A huge image build is a long loop: SIGINT and SIGTERM must end it
    /// (not wait for it), tear down, and exit 128 + signal.
    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalDuringAnImageBuildIsHonoured(_ signal: Int32) throws {
        let state = Self.base + "/sig-state"
        defer { try? TreeRemover.remove(Self.base) }
        let p = try CLI.start(["run", "--driver", "overlay", "--image", "synthetic:files=5000000,sizes=1",
                               "--state-dir", state, "--out", Self.base + "/sig-out"])
        usleep(1_500_000)
        let sent = Date()
        kill(p.pid, signal)
        let r = p.finish()
        let took = Date().timeIntervalSince(sent)
        #expect(r.status == 128 + signal, "\(r.all)")
        #expect(took < 10, "the build went on for \(took) s after the signal")
        #expect(r.stderr.contains("stopped by"), "\(r.stderr)")
        #expect(((try? FileSystem.list(state + "/images")) ?? []).isEmpty, "no half-built image left")
        #expect(CLI.leftovers(under: state).isEmpty)
    }
}

/// `report` reads back only what cowbench wrote: a torn, foreign or
/// inconsistent result directory is refused with the file and line.
@Suite struct ReportRefusesBrokenResultsTests {
    static let reference = ReferenceRunTests.reference + "/compare-1"

    func refused(_ files: [String: String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = "/var/tmp/cowbench-broken-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.createDirectories(dir)
        defer { try? TreeRemover.remove(dir) }
        for (name, text) in files { try FileSystem.write(text, to: dir + "/" + name) }
        let r = try CLI.run(["report", dir])
        #expect(r.status != 0, "rendered: \(r.stdout.prefix(200))", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "\(r.stderr)", sourceLocation: sourceLocation)
    }

    @Test func tornGarbageNonNumericAndInconsistentFilesAreRefused() throws {
        let instances = try FileSystem.read(Self.reference + "/instances.csv")
        let summary = try FileSystem.read(Self.reference + "/summary.csv")
        var lines = instances.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // A row cut short, as a crash mid-write would leave it.
        var torn = lines
        torn[5] = String(torn[5].prefix(40))
        try refused(["instances.csv": torn.joined(separator: "\n")], "instances.csv line 6: ")
        try refused(["instances.csv": "hello,world\n1,2\n"], "instances.csv line 1: there is no run_id column")
        let reader = try CSVReader(string: instances, hasHeaderRow: true)
        let createAt = reader.headerRow!.firstIndex(of: "create_s")!
        _ = reader.next(); _ = reader.next()
        let create = reader.next()![createAt]  // the third data row, line 4
        #expect(lines[3].contains(",\(create),"))
        lines[3] = lines[3].replacingOccurrences(of: ",\(create),", with: ",fast,")
        try refused(["instances.csv": lines.joined(separator: "\n")], "instances.csv line 4: create_s is 'fast', not a number")
        // A summary that claims instances instances.csv does not have.
        let onlyHeader = String(instances.split(separator: "\n")[0]) + "\n"
        try refused(["instances.csv": onlyHeader, "summary.csv": summary], "but instances.csv has 0 rows")
    }
}

/// A terminal's Ctrl-C goes to the whole foreground process group. The
/// instances' processes are in sessions of their own, so only cowbench
/// hears it: it stops cleanly, and no instance fails with "status 130".
@Suite(.serialized, .enabled(if: HostCheck.privilegeProblem() == nil, "needs root with CAP_SYS_ADMIN"))
struct ProcessGroupTests {
    @Test(arguments: ["container", "chroot"])
    func ctrlCToTheProcessGroupReachesOnlyCowbench(_ isolation: String) throws {
        let base = "/var/tmp/cowbench-pgrp-\(getpid())"
        defer { try? TreeRemover.remove(base) }
        // setsid --fork --wait runs cowbench as the leader of a process group of
        // its own, as a shell runs a foreground job, and passes its exit status on.
        let p = try CLI.start(["run", "--driver", "overlay", "--workload", "write", "--files", "3000", "--instances", "1000",
                               "--warmup", "0", "--isolation", isolation, "--scratch-size", "1G",
                               "--state-dir", base + "/state", "--out", base + "/out"], prefix: ["/usr/bin/setsid", "--fork", "--wait"])
        var waited = 0
        while ((try? FileSystem.read(base + "/out/instances.csv")) ?? "").split(separator: "\n").count < 3 && waited < 300 {
            usleep(50_000)
            waited += 1
        }
        let children = (try? FileSystem.read("/proc/\(p.pid)/task/\(p.pid)/children")) ?? ""
        let leader = pid_t(children.split(separator: " ").first ?? "") ?? 0
        #expect(leader > 0 && getpgid(leader) == leader, "cowbench leads its own process group")
        if leader > 0 && getpgid(leader) == leader { kill(-leader, SIGINT) }
        let r = p.finish()
        #expect(r.status == 128 + SIGINT, "\(r.all)")
        let rows = try FileSystem.read(base + "/out/instances.csv")
        #expect(!rows.contains("exited with status 130"), "an instance died of the terminal's SIGINT")
        #expect(CLI.leftovers(under: base).isEmpty)
    }
}
