import Glibc

/// overlayfs: each layer is a read-only directory, stacked as `lowerdir`s
/// (top first); each instance gets its own `upperdir`, `workdir` and merged
/// mount point. Writes go to upper; the first write to an image file copies
/// the whole file up; a delete leaves a whiteout in upper.
public final class OverlayDriver: StorageDriver {
    public static let name = "overlay"
    public static let capabilities = DriverCapabilities(
        copyGranularity: .file, sharesPageCache: true, maxLayers: 500,
        requiredFilesystem: nil, scratchFilesystem: .ext4, mountsInstances: true,
        deferredDestroyWork: false,
        summary: "overlayfs: layer directories as lowerdirs, a private upper/work per instance")

    public let root: String
    private let journal: ResourceJournal
    /// Extra mount flags, for example `volatile`.
    public let mountFlags: [String]

    public convenience init(root: String, journal: ResourceJournal) throws {
        try self.init(root: root, journal: journal, mountFlags: [])
    }

    public init(root: String, journal: ResourceJournal, mountFlags: [String]) throws {
        self.root = root
        self.journal = journal
        self.mountFlags = mountFlags
        try DriverLayout.prepareRoot(root, journal: journal)
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        guard image.layers.count <= Self.capabilities.maxLayers else {
            throw DriverError("image \(image.name) has \(image.layers.count) layers; overlayfs stacks at most \(Self.capabilities.maxLayers)")
        }
        let dir = try DriverLayout.makeImageDirectory(root, image.name, journal: journal)
        for (i, layer) in image.layers.enumerated() {
            let dest = dir + "/\(i)"
            try FileSystem.mkdir(dest)
            try TreeCopier.copyContents(of: layer, into: dest)
        }
        return PreparedImage(name: image.name, driver: Self.name, path: dir, layerCount: image.layers.count)
    }

    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let dir = DriverLayout.instancePath(root, id)
        let merged = dir + "/merged"
        try journal.record(.directory(dir))
        try FileSystem.mkdir(dir, mode: 0o700)
        for sub in ["upper", "work", "merged"] { try FileSystem.mkdir(dir + "/" + sub) }
        try journal.record(.mount(merged))
        do {
            try OverlayMount.mount(lowers: lowerLayers(image), upper: dir + "/upper", work: dir + "/work",
                                   target: merged, flags: mountFlags)
        } catch {
            try? journal.release(.mount(merged))
            try? TreeRemover.remove(dir)
            try? journal.release(.directory(dir))
            throw error
        }
        return Instance(id: id, driver: Self.name, image: image.name, rootfs: merged, path: dir)
    }

    public func destroy(_ instance: Instance) throws {
        let merged = instance.path + "/merged"
        do {
            try Mounts.unmount(merged)
        } catch let e as SyscallError where e.errno == EINVAL || e.errno == ENOENT {
            // Not mounted (any more): nothing to unmount, the directory still goes.
        }
        try journal.release(.mount(merged))
        try TreeRemover.remove(instance.path)
        try journal.release(.directory(instance.path))
    }

    /// The upper directory is exactly what this instance wrote.
    public func usage(of instance: Instance) throws -> TreeUsage {
        var u = try TreeUsage.measure(instance.path + "/upper")
        u.inodes -= 1 // the upper directory itself exists before any write
        u.bytes -= min(u.bytes, 4096)
        return u
    }

    public func remove(_ image: PreparedImage) throws {
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    public func settle() throws { try FileSystem.syncfs(root) }

    public func mechanism(for image: PreparedImage) -> DriverMechanism {
        .overlay(lowerdir: lowerLayers(image).joined(separator: ":"), options: mountFlags)
    }

    public func apiNote(for image: PreparedImage, instance id: String) -> String? {
        let dir = DriverLayout.instancePath(root, id)
        return OverlayMount.fitsMountOptions(lowers: lowerLayers(image), upper: dir + "/upper", work: dir + "/work", flags: mountFlags)
            ? "mount(2)" : "fsopen/fsconfig"
    }

    private func lowerLayers(_ image: PreparedImage) -> [String] {
        (0..<image.layerCount).reversed().map { image.path + "/\($0)" }
    }
}
