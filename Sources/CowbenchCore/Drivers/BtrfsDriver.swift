import Glibc

/// btrfs snapshots through libbtrfsutil. The base layer is a subvolume, each
/// further layer a snapshot of the one below with the layer applied, made
/// read-only once done. Each instance is a writable snapshot of the top
/// layer, and destroy deletes the subvolume (the cleaner frees it later).
public final class BtrfsDriver: StorageDriver {
    public static let name = "btrfs"
    public static let capabilities = DriverCapabilities(
        copyGranularity: .extent, sharesPageCache: false, maxLayers: 500,
        requiredFilesystem: .btrfs, scratchFilesystem: .btrfs, mountsInstances: false,
        deferredDestroyWork: true,
        summary: "btrfs: a snapshot chain per image, a writable snapshot per instance")

    public let root: String
    private let journal: ResourceJournal

    public init(root: String, journal: ResourceJournal, options: DriverOptions = DriverOptions()) throws {
        let fs = try FileSystem.statfs(root)
        guard fs.type == FilesystemStats.btrfsMagic else {
            throw DriverError("the btrfs driver needs a btrfs filesystem, but \(root) is \(fs.typeName); "
                + "pass --root on a btrfs filesystem, or leave --root out and cowbench makes a scratch btrfs")
        }
        self.root = root
        self.journal = journal
        try DriverLayout.prepareRoot(root, journal: journal)
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        guard !image.layers.isEmpty else { throw DriverError("image \(image.name) has no layers") }
        let dir = try DriverLayout.makeImageDirectory(root, image.name, journal: journal)
        for (i, layer) in image.layers.enumerated() {
            let sub = dir + "/\(i)"
            try journal.record(.subvolume(sub))
            if i == 0 {
                try BtrfsSubvolume.create(sub)
            } else {
                try BtrfsSubvolume.snapshot(dir + "/\(i - 1)", to: sub)
            }
            try TreeCopier.applyLayer(layer, onto: sub)
            try BtrfsSubvolume.setReadOnly(sub, true)
        }
        return PreparedImage(name: image.name, driver: Self.name, path: dir, layerCount: image.layers.count)
    }

    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let path = DriverLayout.instancePath(root, id)
        try journal.record(.subvolume(path))
        try BtrfsSubvolume.snapshot(topLayer(image), to: path)
        return Instance(id: id, driver: Self.name, image: image.name, rootfs: path, path: path)
    }

    public func destroy(_ instance: Instance) throws {
        try BtrfsSubvolume.delete(instance.path)
        try journal.release(.subvolume(instance.path))
    }

    /// Inodes changed since the snapshot was taken (by ctime against the
    /// subvolume's otime) and their allocated bytes. A rewritten extent of a
    /// big file counts the whole file here; statfs deltas show the extent.
    public func usage(of instance: Instance) throws -> TreeUsage {
        try TreeUsage.measure(instance.path, changedSince: BtrfsSubvolume.creationTime(instance.path))
    }

    public func remove(_ image: PreparedImage) throws {
        for i in (0..<image.layerCount).reversed() {
            let sub = image.path + "/\(i)"
            try BtrfsSubvolume.delete(sub)
            try journal.release(.subvolume(sub))
        }
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    /// A commit first: it wakes the cleaner, which otherwise waits for the
    /// next periodic commit (seconds, not milliseconds).
    public func settle() throws {
        try BtrfsSubvolume.sync(root)
        try BtrfsSubvolume.waitForCleaner(root)
        try BtrfsSubvolume.sync(root)
    }

    public func mechanism(for image: PreparedImage) -> DriverMechanism? { .snapshot(source: topLayer(image)) }

    private func topLayer(_ image: PreparedImage) -> String { image.path + "/\(image.layerCount - 1)" }
}
