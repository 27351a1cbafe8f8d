import Foundation

/// Runs a host tool (mkfs, for instance) for set-up work that is not measured.
/// Drivers never use it for their own mechanism; that goes through syscalls
/// and libbtrfsutil.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let argv: [String]
        public let status: Int32
        public let output: String
        public var description: String {
            "\(argv.joined(separator: " ")) exited with status \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }

    /// Runs `argv` with stdin from /dev/null and returns stdout and stderr together.
    @discardableResult
    public static func run(_ argv: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw Failure(argv: argv, status: 127, output: "cannot start \(argv[0]): \(error)")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let out = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw Failure(argv: argv, status: p.terminationStatus, output: out) }
        return out
    }

    /// The first executable called `name` in the usual system directories.
    public static func find(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return dirs.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
    }
}
