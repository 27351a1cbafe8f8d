import CowbenchCore
import Glibc

/// One instance's life, timed phase by phase. Measurements that are not part
/// of a phase (statfs, usage walks, btrfs space) happen between phases.
struct InstanceRunner: @unchecked Sendable {
    let driver: any StorageDriver
    let image: PreparedImage
    let argv: [String]
    let root: String
    let btrfs: Bool
    private let null: FileDescriptor

    init(driver: any StorageDriver, image: PreparedImage, argv: [String], root: String, btrfs: Bool) throws {
        self.driver = driver
        self.image = image
        self.argv = argv
        self.root = root
        self.btrfs = btrfs
        null = try FileDescriptor("/dev/null", flags: O_RDWR)
    }

    func run(index: Int, id: String, keep: Bool) -> InstanceResult {
        runKeeping(index: index, id: id, keep: keep, measureUsage: false).0
    }

    /// Returns the result, and the live instance when `keep` is set and it
    /// survived. `measureUsage` walks the instance for the driver's own usage
    /// figure, which can cost more than the instance itself (btrfs: ~3.5 ms).
    func runKeeping(index: Int, id: String, keep: Bool, measureUsage: Bool) -> (InstanceResult, Instance?) {
        var r = InstanceResult(index: index)
        let before = try? FileSystem.statfs(root)
        var t = Clock.now()
        let instance: Instance
        do {
            instance = try driver.create(id: id, from: image)
            r.create = Clock.since(t)
        } catch {
            r.error = PhaseError(phase: .create, error)
            return (r, nil)
        }
        t = Clock.now()
        do {
            let pid = try RootfsProcess.start(rootfs: instance.rootfs, argv: argv,
                                              stdin: null.raw, stdout: null.raw, stderr: null.raw)
            r.start = Clock.since(t)
            t = Clock.now()
            let status = try RootfsProcess.wait(pid)
            r.run = Clock.since(t)
            if status != 0 {
                r.error = PhaseError(phase: .run, message: "\(argv[0]) exited with status \(status)")
            }
        } catch {
            r.error = PhaseError(phase: r.start == nil ? .start : .run, error)
        }
        if let after = try? FileSystem.statfs(root), let before {
            r.addedBytes = Int64(after.usedBytes) - Int64(before.usedBytes)
            r.addedInodes = Int64(after.usedInodes) - Int64(before.usedInodes)
            r.filesystem = after
        }
        if measureUsage { r.usage = try? driver.usage(of: instance) }
        if btrfs { r.btrfs = try? BtrfsSpace.read(root) }
        if keep && r.error == nil { return (r, instance) }
        t = Clock.now()
        do {
            try driver.destroy(instance)
            r.destroy = Clock.since(t)
        } catch {
            r.error = r.error ?? PhaseError(phase: .destroy, error)
        }
        return (r, nil)
    }
}
