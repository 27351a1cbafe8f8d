import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation
import Glibc

/// Writes result files as the run goes: each row is written with write(2)
/// straight away, so a crash loses at most the instance in flight.
final class ResultWriter {
    let directory: String
    private let lock: FileDescriptor
    private var streams: [(String, RowStream)] = []
    private let createdDirectory: Bool

    /// The lock file a run holds in its output directory; not a result.
    static let lockName = ".cowbench.lock"

    /// Refuses, before anything is created, an output directory that would
    /// be clobbered: `/`, or one that already holds files, unless `force`.
    static func check(_ directory: String, force: Bool) throws {
        let dir = Path.resolved(directory)
        if dir == "/" { throw SetupError("--out / is the root directory; pass a directory for this run's results") }
        try Preflight.requireWritable(dir, flag: "--out")
        let held = ((try? FileSystem.list(dir)) ?? []).filter { $0 != lockName }
        if !held.isEmpty && !force {
            throw SetupError("--out \(dir) already holds \(held.prefix(3).joined(separator: ", "))\(held.count > 3 ? ", …" : ""); "
                + "pass a new directory, or --force to overwrite what is there")
        }
    }

    /// Creates the output directory and locks it for this run, so a second
    /// run given the same --out fails instead of interleaving rows. With
    /// `replacing` (--force), cowbench's own result files already there go
    /// first, once the lock is held, so old rows never mix with new ones.
    init(directory: String, replacing: Bool = false) throws {
        self.directory = Path.resolved(directory)
        createdDirectory = !FileSystem.exists(self.directory)
        do {
            try FileSystem.createDirectories(self.directory)
            lock = try FileDescriptor(self.directory + "/" + Self.lockName, flags: O_RDWR | O_CREAT, mode: 0o644)
        } catch {
            throw SetupError("cannot write results to \(directory): \(error); pass --out with a writable directory")
        }
        if flock(lock.raw, LOCK_EX | LOCK_NB) != 0 {
            throw SetupError("another cowbench run is writing to --out \(self.directory); wait for it, or pass another directory")
        }
        if replacing {
            for name in ReportData.fileNames + ["report.md", "report.html"] where FileSystem.exists(self.directory + "/" + name) {
                try FileSystem.unlink(self.directory + "/" + name)
            }
        }
    }

    deinit { try? FileSystem.unlink(directory + "/" + Self.lockName) }

    /// Creates (or truncates) `name` with `header` and returns it for appending rows.
    func stream(_ name: String, header: String) throws -> RowStream {
        let fd = try FileDescriptor(directory + "/" + name, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        let stream = RowStream(fd: fd)
        try FileSystem.writeAll(Array(header.utf8), to: fd)
        streams.append((name, stream))
        return stream
    }

    /// A run refused before its first row leaves no header-only files, and
    /// no directory it made itself.
    func discardIfEmpty() {
        guard streams.allSatisfy({ $0.1.appended == 0 }) else { return }
        for (name, _) in streams { try? FileSystem.unlink(directory + "/" + name) }
        try? FileSystem.unlink(directory + "/" + Self.lockName)
        if createdDirectory { _ = rmdir(directory) }
    }

    func write(_ name: String, _ contents: String) throws { try FileSystem.write(contents, to: directory + "/" + name) }

    static func defaultDirectory(runID: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return FileManager.default.currentDirectoryPath + "/results/\(f.string(from: Date()))-\(HostInfo.hostname)-\(runID)"
    }
}

/// One CSV file being written a row at a time.
final class RowStream {
    private let fd: FileDescriptor
    /// Rows appended after the header.
    private(set) var appended = 0
    init(fd: FileDescriptor) { self.fd = fd }
    func append(_ rows: String) throws {
        try FileSystem.writeAll(Array(rows.utf8), to: fd)
        appended += 1
    }
}

/// A one-line progress bar on stderr, only when stderr is a terminal.
struct ProgressBar: Sendable {
    let label: String
    let enabled = isatty(2) == 1

    /// A status line (preparing, warm-up) that the next one overwrites.
    static func status(_ line: String) {
        guard isatty(2) == 1 else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K\(line)".utf8))
    }

    /// Erases the status line, before results are printed.
    static func clearStatus() {
        guard isatty(2) == 1 else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled, done == total || done % max(1, total / 100) == 0 else { return }
        let width = 30, filled = total > 0 ? done * width / total : 0
        let line = "\r\u{1b}[K\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)"
            + (done == total ? "\n" : "")
        FileHandle.standardError.write(Data(line.utf8))
    }
}
