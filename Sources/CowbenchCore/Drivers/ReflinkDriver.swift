import CShim
import Glibc

/// A copy of the flattened image per instance, with every file's data
/// cloned (FICLONE) instead of copied: metadata is copied, extents are
/// shared until an instance writes them. On xfs (reflink=1, the default
/// scratch) or btrfs (`reflink:btrfs`). Page cache is per inode, so clones
/// share none of it.
public final class ReflinkDriver: StorageDriver {
    public static let name = "reflink"
    public static let capabilities: DriverCapabilities = ReflinkDriver.capabilities(DriverOptions())
    public static let options = [
        DriverOptionInfo("xfs", help: "scratch xfs made with reflink=1 (the default)"),
        DriverOptionInfo("btrfs", help: "scratch btrfs instead of xfs"),
    ]

    public static func capabilities(_ o: DriverOptions) -> DriverCapabilities {
        DriverCapabilities(
            copyGranularity: .extent, sharesPageCache: false, maxLayers: 4096,
            requiredFilesystem: nil, scratchFilesystem: o.has("btrfs") ? .btrfs : .xfs, mountsInstances: false,
            deferredDestroyWork: false,
            summary: "a copy of the flattened image per instance, file data cloned with FICLONE")
    }

    public let root: String
    private let journal: ResourceJournal

    public init(root: String, journal: ResourceJournal, options: DriverOptions = DriverOptions()) throws {
        if options.has("btrfs") && options.has("xfs") {
            throw DriverError("reflink takes xfs or btrfs, not both")
        }
        self.root = root
        self.journal = journal
        try DriverLayout.prepareRoot(root, journal: journal)
        try probe()
    }

    /// Clones one file, so a --root that cannot reflink (ext4) fails here,
    /// before any image is prepared, instead of silently copying.
    private func probe() throws {
        let a = root + "/images/.reflink-probe", b = a + ".clone"
        try journal.record(.file(a))
        try journal.record(.file(b))
        defer {
            for p in [b, a] {
                try? ResourceJournal.remove(.file(p))
                try? journal.release(.file(p))
            }
        }
        let src = try FileDescriptor(a, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
        try FileSystem.writeAll([UInt8](repeating: 1, count: 4096), to: src)
        let dst = try FileDescriptor(b, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        if cb_ficlone(dst.raw, src.raw) != 0 {
            let fs = (try? FileSystem.statfs(root))?.typeName ?? "?"
            throw SyscallError("ioctl(FICLONE)", path: b, hint: "\(root) is on \(fs), which cannot clone extents; "
                + "pass --root on xfs (reflink=1) or btrfs, or leave --root out and cowbench makes a scratch xfs")
        }
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        let dir = try DriverLayout.makeImageDirectory(root, image.name, journal: journal)
        try FileSystem.mkdir(dir + "/flat")
        for layer in image.layers { try TreeCopier.applyLayer(layer, onto: dir + "/flat") }
        return PreparedImage(name: image.name, driver: Self.name, path: dir, layerCount: image.layers.count)
    }

    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let path = DriverLayout.instancePath(root, id)
        try journal.record(.directory(path))
        do {
            try FileSystem.mkdir(path)
            try TreeCopier.cloneContents(of: image.path + "/flat", into: path)
        } catch {
            try? TreeRemover.remove(path)
            try? journal.release(.directory(path))
            throw error
        }
        return Instance(id: id, driver: Self.name, image: image.name, rootfs: path, path: path)
    }

    public func destroy(_ instance: Instance) throws {
        try TreeRemover.remove(instance.path)
        try journal.release(.directory(instance.path))
    }

    /// The instance's inodes, and only the extents it does not share with
    /// the image (FIEMAP_EXTENT_SHARED): what it rewrote or added.
    public func usage(of instance: Instance) throws -> TreeUsage {
        try TreeUsage.measure(instance.path, unsharedOnly: true)
    }

    public func remove(_ image: PreparedImage) throws {
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    /// xfs frees unlinked inodes and their blocks in a background worker
    /// (inodegc), which neither syncfs nor statfs waits for; under load a
    /// destroy's inodes showed up late. So wait until statfs holds still for
    /// three reads (at most about 5 s), as a btrfs settle waits for the cleaner.
    public func settle() throws {
        try FileSystem.syncfs(root)
        guard try FileSystem.statfs(root).type == FilesystemStats.xfsMagic else { return }
        var last = try FileSystem.statfs(root), still = 0, reads = 0
        while still < 3 && reads < 1_000 {
            reads += 1
            usleep(5_000)
            try FileSystem.syncfs(root)
            let now = try FileSystem.statfs(root)
            still = now.freeInodes == last.freeInodes && now.freeBytes == last.freeBytes ? still + 1 : 0
            last = now
        }
    }
}
