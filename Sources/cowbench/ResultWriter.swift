import CowbenchCore
import CowbenchExport
import CowbenchHarness
import Foundation
import Glibc

/// Writes result files as the run goes: each row is written with write(2)
/// straight away, so a crash loses at most the instance in flight.
final class ResultWriter {
    let directory: String

    /// Creates the output directory, failing before any run starts if the
    /// location is not writable.
    init(directory: String) throws {
        self.directory = directory
        do {
            try FileSystem.createDirectories(directory)
            try FileSystem.write("", to: directory + "/.cowbench-write-test")
            try FileSystem.unlink(directory + "/.cowbench-write-test")
        } catch {
            throw SetupError("cannot write results to \(directory): \(error); pass --out with a writable directory")
        }
    }

    /// Creates (or truncates) `name` with `header` and returns it for appending rows.
    func stream(_ name: String, header: String) throws -> RowStream {
        let fd = try FileDescriptor(directory + "/" + name, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        let stream = RowStream(fd: fd)
        try stream.append(header)
        return stream
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
    init(fd: FileDescriptor) { self.fd = fd }
    func append(_ rows: String) throws { try FileSystem.writeAll(Array(rows.utf8), to: fd) }
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

    func update(_ done: Int, _ total: Int) {
        guard enabled, done == total || done % max(1, total / 100) == 0 else { return }
        let width = 30, filled = total > 0 ? done * width / total : 0
        let line = "\r\u{1b}[K\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total)"
            + (done == total ? "\n" : "")
        FileHandle.standardError.write(Data(line.utf8))
    }
}
