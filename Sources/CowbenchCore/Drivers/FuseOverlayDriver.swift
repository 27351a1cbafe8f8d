import Synchronization
import Glibc

/// fuse-overlayfs, the rootless world's overlay: the same lower/upper/work
/// layout as `overlay`, served by one fuse-overlayfs daemon per instance.
/// Every lookup and read crosses to that daemon, and its reads of the lower
/// files land in the page cache of the daemon's own opens, so instances
/// share none of it through the FUSE mount.
public final class FuseOverlayDriver: StorageDriver {
    public static let name = "fuse-overlayfs"
    public static let program = "fuse-overlayfs"
    public static let capabilities: DriverCapabilities = {
        var c = DriverCapabilities(
            copyGranularity: .file, sharesPageCache: false, maxLayers: maxLayers,
            requiredFilesystem: nil, scratchFilesystem: .ext4, mountsInstances: true,
            deferredDestroyWork: false,
            summary: "fuse-overlayfs: overlay's layout, one FUSE daemon per instance")
        c.daemonPerInstance = true
        // Measured: rename(2) of an image directory gives EXDEV, as overlay without redirect_dir.
        c.renamesImageDirectories = false
        c.requiredTools = [program]
        c.instanceFilesystem = "fuse"
        return c
    }()

    /// fuse-overlayfs 1.10 takes the whole stack in one `-o lowerdir=`
    /// argument, and the kernel caps one argument at MAX_ARG_STRLEN (128 KiB):
    /// measured here, 1,000 layers of 76-byte paths mounted and 2,000 got
    /// E2BIG from execve. 1,000 is what the conformance suite checks.
    static let maxLayers = 1000
    static let maxArgument = 131_072

    public let root: String
    private let journal: ResourceJournal
    private let binary: String
    /// The daemon of each instance this process created, by mount point.
    private let daemons = Mutex<[String: pid_t]>([:])

    public init(root: String, journal: ResourceJournal, options: DriverOptions = DriverOptions()) throws {
        guard let binary = Command.find(Self.program) else {
            throw SetupError("\(Self.program) is not installed; run scripts/setup.sh (Debian package fuse-overlayfs)")
        }
        guard FileSystem.exists("/dev/fuse") else {
            throw SetupError("/dev/fuse is missing, so no FUSE mount can be made; try modprobe fuse")
        }
        self.binary = binary
        self.root = root
        self.journal = journal
        try DriverLayout.prepareRoot(root, journal: journal)
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        guard image.layers.count <= Self.maxLayers else {
            throw DriverError("image \(image.name) has \(image.layers.count) layers; cowbench checks fuse-overlayfs up to \(Self.maxLayers)")
        }
        let d = try DriverLayout.copyLayers(image, root: root, journal: journal)
        return PreparedImage(name: image.name, driver: Self.name, path: d.path, layerCount: d.layerCount)
    }

    /// Starts the daemon in the foreground (`-f`) as cowbench's own child,
    /// and returns once the rootfs is a FUSE mount.
    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let dir = DriverLayout.instancePath(root, id)
        let merged = dir + "/merged"
        try journal.record(.directory(dir))
        try FileSystem.mkdir(dir, mode: 0o700)
        for sub in ["upper", "work", "merged"] { try FileSystem.mkdir(dir + "/" + sub) }
        try journal.record(.mount(merged))
        try journal.record(.daemon(program: Self.program, mountPoint: merged))
        do {
            let options = "lowerdir=" + DriverLayout.lowers(image).joined(separator: ":") + ",upperdir=\(dir)/upper,workdir=\(dir)/work"
            guard options.utf8.count < Self.maxArgument else {
                throw DriverError("fuse-overlayfs takes its \(image.layerCount) layers in one argument of \(options.utf8.count) bytes, "
                    + "over the kernel's \(Self.maxArgument)-byte limit for one argument (MAX_ARG_STRLEN); use a shorter --state-dir or fewer layers")
            }
            let pid = try Command.spawn([binary, "-f", "-o", options, merged], log: dir + "/daemon.log")
            // statfs of the mount point turns FUSE's the moment the daemon
            // has mounted; until then it is the scratch filesystem's.
            while (try? FileSystem.statfs(merged))?.type != FilesystemStats.fuseMagic {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    let log = (try? FileSystem.read(dir + "/daemon.log"))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    throw DriverError("\(Self.program) exited (wait status \(status)) before mounting \(merged): \(log)")
                }
                usleep(100)
            }
            daemons.withLock { $0[merged] = pid }
        } catch {
            try? teardown(dir)
            throw error
        }
        return Instance(id: id, driver: Self.name, image: image.name, rootfs: merged, path: dir)
    }

    /// Unmounts, then waits for the daemon to notice and exit (it is
    /// killed if it has not within a second), then removes the directory.
    public func destroy(_ instance: Instance) throws {
        let merged = instance.path + "/merged"
        // An instance another process created has no pid here: look for it.
        let daemons = daemons.withLock { $0.removeValue(forKey: merged) }.map { [$0] }
            ?? DaemonProcess.find(program: Self.program, mountPoint: merged)
        do {
            try Mounts.unmount(merged)
        } catch let e as SyscallError where e.errno == EINVAL || e.errno == ENOENT {
            // Not mounted (the daemon died and took it along): the rest still goes.
        }
        for pid in daemons { DaemonProcess.stop(pid, grace: 1) }
        try journal.release(.daemon(program: Self.program, mountPoint: merged))
        try journal.release(.mount(merged))
        try TreeRemover.remove(instance.path)
        try journal.release(.directory(instance.path))
    }

    private func teardown(_ dir: String) throws {
        for r in [Resource.daemon(program: Self.program, mountPoint: dir + "/merged"), .mount(dir + "/merged"), .directory(dir)] {
            try ResourceJournal.remove(r)
            try journal.release(r)
        }
    }

    /// The upper directory is exactly what this instance wrote.
    public func usage(of instance: Instance) throws -> TreeUsage {
        var u = try TreeUsage.measure(instance.path + "/upper")
        u.inodes -= 1
        u.bytes -= min(u.bytes, 4096)
        return u
    }

    public func remove(_ image: PreparedImage) throws {
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    public func settle() throws { try FileSystem.syncfs(root) }
}
