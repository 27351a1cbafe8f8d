import Glibc

/// overlayfs: each layer is a read-only directory, stacked as `lowerdir`s
/// (top first); each instance gets its own `upperdir`, `workdir` and merged
/// mount point. Writes go to upper; the first write to an image file copies
/// the whole file up; a delete leaves a whiteout in upper. Spec options are
/// overlay's own mount options (`overlay:metacopy=on`).
public final class OverlayDriver: StorageDriver {
    public static let name = "overlay"
    public static let capabilities: DriverCapabilities = OverlayDriver.capabilities(DriverOptions())
    public static let options = [
        DriverOptionInfo("volatile", help: "no syncs to the upper filesystem, not even at unmount (CRI-O's choice)"),
        DriverOptionInfo("metacopy", values: ["on", "off"], help: "a chown or chmod copies up metadata only, data stays below"),
        DriverOptionInfo("redirect_dir", values: ["on", "off", "follow", "nofollow"],
                         help: "rename an image directory in place instead of EXDEV"),
        DriverOptionInfo("index", values: ["on", "off"], help: "index copied-up inodes (keeps hard links whole); runtimes force off"),
        DriverOptionInfo("xino", values: ["on", "off", "auto"], help: "unique inode numbers across layers"),
    ]

    public static func capabilities(_ o: DriverOptions) -> DriverCapabilities {
        // metacopy=on turns redirect_dir on unless it is set off explicitly.
        let metacopy = (o.value("metacopy") ?? moduleDefault("metacopy")) == "on"
        let redirect = o.value("redirect_dir") ?? (metacopy ? "on" : moduleDefault("redirect_dir"))
        var c = DriverCapabilities(
            copyGranularity: .file, sharesPageCache: true, maxLayers: 500,
            requiredFilesystem: nil, scratchFilesystem: .ext4, mountsInstances: true,
            deferredDestroyWork: false,
            summary: "overlayfs: layer directories as lowerdirs, a private upper/work per instance")
        c.renamesImageDirectories = redirect == "on"
        c.metadataOnlyCopyUp = metacopy
        c.instanceFilesystem = "overlay"
        return c
    }

    /// The kernel's default for an option with no value given: overlay's
    /// module parameter (`N` is off), as this kernel was built.
    static func moduleDefault(_ key: String) -> String {
        let v = (try? FileSystem.read("/sys/module/overlay/parameters/" + key))?.trimmingCharacters(in: .whitespacesAndNewlines)
        return v == "Y" ? "on" : "off"
    }

    /// Asks the kernel whether it knows these options, without mounting or
    /// creating anything: fsconfig checks each as it is set.
    public static func check(_ options: DriverOptions) -> String? {
        OverlayMount.refused(options.entries.map(\.text))
    }

    public let root: String
    private let journal: ResourceJournal
    /// Extra mount options, for example `volatile` or `metacopy=on`.
    public let mountFlags: [String]

    public convenience init(root: String, journal: ResourceJournal, options: DriverOptions) throws {
        try self.init(root: root, journal: journal, mountFlags: options.entries.map(\.text))
    }

    public init(root: String, journal: ResourceJournal, mountFlags: [String]) throws {
        self.root = root
        self.journal = journal
        self.mountFlags = mountFlags
        try DriverLayout.prepareRoot(root, journal: journal)
        if !mountFlags.isEmpty { try probe() }
    }

    /// One throwaway mount with the options, so a combination the kernel
    /// refuses (metacopy=on with redirect_dir=off) fails here, before any
    /// image or instance, with the kernel's own reason.
    private func probe() throws {
        let dir = root + "/probe"
        try journal.record(.directory(dir))
        defer {
            try? ResourceJournal.remove(.directory(dir))
            try? journal.release(.directory(dir))
        }
        try FileSystem.mkdir(dir, mode: 0o700)
        for sub in ["lower", "upper", "work", "merged"] { try FileSystem.mkdir(dir + "/" + sub) }
        try journal.record(.mount(dir + "/merged"))
        do {
            try OverlayMount.mount(lowers: [dir + "/lower"], upper: dir + "/upper", work: dir + "/work", target: dir + "/merged",
                                   flags: mountFlags)
        } catch let e as SyscallError {
            try? journal.release(.mount(dir + "/merged"))
            throw DriverError("the kernel refuses overlay with \(mountFlags.joined(separator: ",")): \(e)")
        }
        try Mounts.unmount(dir + "/merged")
        try journal.release(.mount(dir + "/merged"))
    }

    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        guard image.layers.count <= Self.capabilities.maxLayers else {
            throw DriverError("image \(image.name) has \(image.layers.count) layers; overlayfs stacks at most \(Self.capabilities.maxLayers)")
        }
        let d = try DriverLayout.copyLayers(image, root: root, journal: journal)
        return PreparedImage(name: image.name, driver: Self.name, path: d.path, layerCount: d.layerCount)
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

    public func mechanism(for image: PreparedImage) -> DriverMechanism? {
        .overlay(lowerdir: lowerLayers(image).joined(separator: ":"), options: mountFlags)
    }

    public func apiNote(for image: PreparedImage, instance id: String) -> String? {
        let dir = DriverLayout.instancePath(root, id)
        return OverlayMount.fitsMountOptions(lowers: lowerLayers(image), upper: dir + "/upper", work: dir + "/work", flags: mountFlags)
            ? "mount(2)" : "fsopen/fsconfig"
    }

    private func lowerLayers(_ image: PreparedImage) -> [String] { DriverLayout.lowers(image) }
}
