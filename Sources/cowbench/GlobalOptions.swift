import ArgumentParser
import CowbenchCore
import Foundation

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"),
            help: "Where cowbench keeps images, scratch filesystems and journals (env COWBENCH_STATE_DIR).")
    var stateDirectoryArgument: String = ProcessInfo.processInfo.environment["COWBENCH_STATE_DIR"] ?? "/var/lib/cowbench"

    /// The state directory with symlinks resolved, the only spelling cowbench uses.
    var stateDirectory: String { Path.resolved(stateDirectoryArgument) }

    func validate() throws {
        guard stateDirectoryArgument.hasPrefix("/") else {
            throw ValidationError("--state-dir must be an absolute path, not '\(stateDirectoryArgument)'")
        }
    }

    /// Fails early, before anything is created, when this process cannot mount.
    func requirePrivilege() throws {
        if let problem = HostCheck.privilegeProblem() { throw SetupError(problem) }
    }

    /// What every command that creates things checks first: privilege and a
    /// writable state directory. Then it warns about leftovers of runs that
    /// died, and turns Ctrl-C and SIGTERM into a request to stop cleanly.
    func beginRun() throws {
        try requirePrivilege()
        try Preflight.requireWritable(stateDirectory, flag: "--state-dir")
        let left = Cleanup.leftovers(stateDirectory)
        if !left.isEmpty {
            let count = left.reduce(0) { $0 + $1.resources.count }
            Diagnostics.warn("an earlier run left \(count) mounts, loop devices or directories behind "
                + "(\(left.map { Path.base($0.journal) }.joined(separator: ", "))); run `cowbench cleanup --state-dir \(stateDirectory)`")
        }
        StopRequest.install()
    }
}

/// Runs a command's body; if a signal stopped it part-way (a long step threw
/// `Stopped`, or anything failed after the request), ends the command as an
/// interrupted one, exit 128 + signal, instead of reporting an error.
func stoppable(results: String?, _ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch {
        guard StopRequest.requested else { throw error }
        Diagnostics.warn("stopped by \(StopRequest.signalName); everything cowbench made is torn down"
            + (results.map { "; results so far are in \($0)" } ?? ""))
        throw ExitCode(128 + StopRequest.signal)
    }
}

/// Ends a command that a signal stopped: by now everything it made is torn
/// down and its rows are on disk, so say where, and exit 128 + signal.
func exitIfInterrupted(results: String) throws {
    guard StopRequest.requested else { return }
    Diagnostics.warn("stopped by \(StopRequest.signalName); everything cowbench made is torn down; results so far are in \(results)")
    throw ExitCode(128 + StopRequest.signal)
}

/// The `validate()` check for a flag that names a driver spec
/// (`overlay`, `overlay:metacopy=on`).
func validateDriverName(_ name: String, flag: String) throws {
    guard let spec = try? DriverSpec(parsing: name), DriverRegistry.names.contains(spec.name) else {
        throw ValidationError("\(flag) '\(name)' is unknown; choose one of \(DriverRegistry.names.joined(separator: ", ")), "
            + "with options after a colon (overlay:metacopy=on; `cowbench drivers` lists them)")
    }
    do { _ = try DriverRegistry.resolve(name) } catch { throw ValidationError("\(flag): \(error)") }
}

/// Where a driver runs: an existing directory, or a scratch filesystem of
/// this size that cowbench makes.
struct Placement {
    var root: String?
    var scratchBytes: UInt64
}

/// The size of the scratch filesystems cowbench makes.
struct ScratchOptions: ParsableArguments {
    @Option(name: .customLong("scratch-size"), help: "Size of each sparse scratch filesystem image (e.g. 4G; at least 256M).")
    var scratchSize: String = "16G"

    func validate() throws { _ = try parseScratchSize(scratchSize) }

    var scratchBytes: UInt64 { ByteSize.parse(scratchSize)! }
}

/// `--scratch-size`, checked: a size, and one every scratch filesystem fits in.
func parseScratchSize(_ text: String) throws -> UInt64 {
    guard let bytes = ByteSize.parse(text) else {
        throw ValidationError("--scratch-size '\(text)' is not a size; write e.g. 512M, 1.5G or 4G")
    }
    if bytes < 256 << 20 {
        throw ValidationError("--scratch-size \(text) is too small: mkfs.btrfs and mkfs.ext4 need at least 256M to hold their own metadata")
    }
    return bytes
}

/// Options for choosing where a driver runs: `--root`, or a scratch filesystem.
struct DriverRootOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: "Run on this existing directory instead of a scratch filesystem cowbench makes.")
    var rootArgument: String?

    @OptionGroup var scratch: ScratchOptions

    func validate() throws {
        if let rootArgument, !rootArgument.hasPrefix("/") {
            throw ValidationError("--root must be an absolute path, not '\(rootArgument)'")
        }
    }

    /// `--root` with symlinks resolved.
    var root: String? { rootArgument.map(Path.resolved) }
    var scratchBytes: UInt64 { scratch.scratchBytes }
    var placement: Placement { Placement(root: root, scratchBytes: scratchBytes) }
}
