import Glibc

/// The baseline: the image is flattened once, and every instance gets a full
/// copy of it. On btrfs or XFS copy_file_range shares extents instead of
/// copying them; `copyIsReflink` tells which happened.
public final class CopyDriver: StorageDriver {
    public static let name = "copy"
    public static let capabilities = DriverCapabilities(
        copyGranularity: .fullCopy, sharesPageCache: false, maxLayers: 4096,
        requiredFilesystem: nil, scratchFilesystem: .ext4, mountsInstances: false,
        deferredDestroyWork: false,
        summary: "naive full copy of the flattened image per instance (the baseline)")

    public let root: String
    private let journal: ResourceJournal

    /// True when `root` is on a filesystem where copy_file_range clones
    /// extents, so "copy" is really a reflink there.
    public let copyIsReflink: Bool

    public init(root: String, journal: ResourceJournal, options: DriverOptions = DriverOptions()) throws {
        self.root = root
        self.journal = journal
        copyIsReflink = try FileSystem.statfs(root).type == FilesystemStats.btrfsMagic
        try DriverLayout.prepareRoot(root, journal: journal)
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        let dir = try DriverLayout.makeImageDirectory(root, image.name, journal: journal)
        let flat = dir + "/flat"
        try FileSystem.mkdir(flat)
        for layer in image.layers { try TreeCopier.applyLayer(layer, onto: flat) }
        return PreparedImage(name: image.name, driver: Self.name, path: dir, layerCount: image.layers.count)
    }

    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let path = DriverLayout.instancePath(root, id)
        try journal.record(.directory(path))
        do {
            try FileSystem.mkdir(path)
            try TreeCopier.copyContents(of: flatTree(image), into: path)
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

    /// Everything in the copy belongs to the instance.
    public func usage(of instance: Instance) throws -> TreeUsage {
        try TreeUsage.measure(instance.path)
    }

    public func remove(_ image: PreparedImage) throws {
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    public func settle() throws { try FileSystem.syncfs(root) }

    public func mechanism(for image: PreparedImage) -> DriverMechanism? { .copy(source: flatTree(image)) }

    private func flatTree(_ image: PreparedImage) -> String { image.path + "/flat" }
}
