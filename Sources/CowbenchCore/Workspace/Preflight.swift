import Glibc

/// Checks made before a command creates anything, so bad input fails with a
/// message that names the problem and what to do, and leaves no trace.
public enum Preflight {
    /// `path` (or the nearest existing directory above it) must be writable
    /// and on a read-write filesystem.
    public static func requireWritable(_ path: String, flag: String) throws {
        let existing = Path.nearestExisting(path)
        guard FileSystem.isDirectory(existing) else {
            throw SetupError("\(flag) \(path): \(existing) is not a directory")
        }
        var vfs = statvfs()
        if statvfs(existing, &vfs) == 0, vfs.f_flag & UInt(ST_RDONLY) != 0 {
            throw SetupError("\(flag) \(path) is on a read-only filesystem (at \(existing)); pass a writable \(flag)")
        }
        if access(existing, W_OK) != 0 {
            throw SetupError("\(flag) \(path) is not writable (\(existing): \(Errno.name(errno))); pass a writable \(flag)")
        }
    }

    /// The filesystem holding `path` must have `bytes` available, or the
    /// run would fail half-way with ENOSPC, or with EIO from a loop device
    /// whose sparse backing file cannot grow.
    public static func requireSpace(_ path: String, bytes: UInt64, for what: String, flag: String) throws {
        let existing = Path.nearestExisting(path)
        guard let fs = try? FileSystem.statfs(existing), fs.availableBytes < bytes else { return }
        throw SetupError(fullMessage(path, fs: fs, needed: bytes, what: what, flag: flag))
    }

    /// "the filesystem holding the state dir is full: X free, Y needed", with what to do.
    public static func fullMessage(_ path: String, fs: FilesystemStats, needed: UInt64, what: String, flag: String) -> String {
        "the filesystem holding \(flag) \(path) has \(ByteSize.format(Double(fs.availableBytes))) available, "
            + "but \(what) need at least \(ByteSize.format(Double(needed))); free space there, or pass \(flag) on a larger filesystem"
    }

    /// An image of about `bytes` must fit where it is built (the state
    /// directory) and where each driver holds it (the scratch filesystem).
    public static func requireImageFits(_ spec: String, bytes: Double, scratchBytes: UInt64?, stateDirectory: String) throws {
        let size = ByteSize.format(bytes)
        if let scratchBytes, bytes >= Double(scratchBytes) {
            throw SetupError("image \(spec) holds about \(size), more than the \(ByteSize.format(Double(scratchBytes))) "
                + "scratch filesystem (--scratch-size); pass a larger --scratch-size, or fewer or smaller files")
        }
        let existing = Path.nearestExisting(stateDirectory)
        if let fs = try? FileSystem.statfs(existing), bytes >= Double(fs.availableBytes) {
            throw SetupError("image \(spec) holds about \(size), but the filesystem holding --state-dir \(stateDirectory) "
                + "has \(ByteSize.format(Double(fs.availableBytes))) available; free space, or choose fewer or smaller files")
        }
    }

    /// The driver must work on this host, on `root` if one is given, with an
    /// image of `layers` layers.
    public static func requireDriver(_ name: String, root: String?, layers: Int) throws {
        let choice = try DriverRegistry.resolve(name)
        if let root {
            if let problem = DriverWorkspace.rootProblem(root, for: choice) { throw SetupError(problem) }
        } else {
            let (works, reason) = DriverRegistry.availability(of: choice.type, options: choice.spec.options)
            if !works { throw SetupError("the \(name) driver cannot run here: \(reason)") }
        }
        if let refused = choice.type.check(choice.spec.options) { throw SetupError("\(name): \(refused)") }
        let max = choice.capabilities.maxLayers
        if layers > max {
            throw SetupError("the image has \(layers) layers, but the \(name) driver takes at most \(max) on this kernel")
        }
    }
}
