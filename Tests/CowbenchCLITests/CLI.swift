import CSV
import CowbenchCore
import Foundation
import Glibc
import Testing

/// The built `cowbench` binary, run as a user would run it.
enum CLI {
    /// scripts/test.sh builds it (`swift build --build-tests` builds the executable too).
    static let binary: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/cowbench").path
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var all: String { stdout + stderr }
    }

    /// Runs another program (not cowbench) to completion.
    static func runTool(_ argv: [String]) throws -> Result {
        let p = try start(Array(argv.dropFirst()), prefix: [argv[0]], program: nil)
        return p.finish()
    }

    /// Runs the binary to completion.
    @discardableResult
    static func run(_ args: [String], prefix: [String] = []) throws -> Result {
        let p = try start(args, prefix: prefix)
        return p.finish()
    }

    /// A running cowbench whose output goes to files, so a killed one loses nothing.
    final class Running {
        let process = Process()
        let out: String, err: String
        init(out: String, err: String) { self.out = out; self.err = err }
        var pid: pid_t { process.processIdentifier }

        func finish() -> Result {
            process.waitUntilExit()
            let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
            let r = Result(status: status, stdout: (try? FileSystem.read(out)) ?? "", stderr: (try? FileSystem.read(err)) ?? "")
            try? FileSystem.unlink(out)
            try? FileSystem.unlink(err)
            return r
        }
    }

    static func start(_ args: [String], prefix: [String] = [], program: String? = binary) throws -> Running {
        if let program, !FileSystem.exists(program) { throw TestFailure("\(program) is not built; run scripts/test.sh") }
        let tag = "/var/tmp/cowbench-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let r = Running(out: tag + ".out", err: tag + ".err")
        FileManager.default.createFile(atPath: r.out, contents: nil)
        FileManager.default.createFile(atPath: r.err, contents: nil)
        let argv = prefix + (program.map { [$0] } ?? []) + args
        r.process.executableURL = URL(fileURLWithPath: argv[0])
        r.process.arguments = Array(argv.dropFirst())
        r.process.standardOutput = FileHandle(forWritingAtPath: r.out)
        r.process.standardError = FileHandle(forWritingAtPath: r.err)
        r.process.standardInput = FileHandle.nullDevice
        try r.process.run()
        return r
    }

    /// Everything of cowbench's under `base` that a host would still see.
    static func leftovers(under base: String) -> [String] {
        var found = Mounts.mounts(under: base).map { "mount \($0.mountPoint)" }
        for l in ((try? FileSystem.list("/sys/block")) ?? []) where l.hasPrefix("loop") {
            if let backing = LoopDevice.currentBackingFile(of: "/dev/" + l), backing.hasPrefix(base) { found.append("loop /dev/\(l) -> \(backing)") }
        }
        for sub in ["scratch", "runs", "workspaces"] {
            for e in ((try? FileSystem.list(base + "/" + sub)) ?? []) where !e.hasPrefix(".") { found.append("\(sub)/\(e)") }
        }
        for program in [FuseOverlayDriver.program, "containerd"] {
            for pid in DaemonProcess.running(program: program, under: base) { found.append("\(program) pid \(pid)") }
        }
        // Tests run one at a time, so any cowbench cgroup now is a leftover.
        if let h = MemoryCgroup.hierarchy() {
            for e in ((try? FileSystem.list(h.mount)) ?? []) where e.hasPrefix("cowbench-") { found.append("cgroup \(h.mount)/\(e)") }
        }
        return found
    }

    /// A CSV's rows, each keyed by the header's names.
    static func rows(_ path: String) throws -> [[String: String]] {
        let reader = try CSVReader(string: try FileSystem.read(path), hasHeaderRow: true)
        let header = reader.headerRow ?? []
        var rows: [[String: String]] = []
        while let row = reader.next() { rows.append(Dictionary(zip(header, row), uniquingKeysWith: { a, _ in a })) }
        return rows
    }

    /// Parses a CSV with CSV.swift's reader; every row must have the header's width.
    static func checkCSV(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        guard let stream = InputStream(fileAtPath: path) else { throw TestFailure("cannot open \(path)") }
        let reader = try CSVReader(stream: stream, hasHeaderRow: true)
        let width = reader.headerRow?.count ?? 0
        var rows = 0
        while let row = reader.next() {
            #expect(row.count == width, "row \(rows + 1) of \(path) has \(row.count) fields, not \(width)", sourceLocation: sourceLocation)
            rows += 1
        }
        return rows
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
