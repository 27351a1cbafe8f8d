import Glibc

/// A copy-on-write storage driver: the thing that turns an image into many
/// private, writable root filesystems.
///
/// The lifecycle, as a benchmark drives it:
///
/// ```swift
/// let driver = try OverlayDriver(root: scratch.mountPoint, journal: journal, options: DriverOptions())
/// let image = try driver.prepare(layers)          // once per run
/// for n in 0..<200 {
///     let instance = try driver.create(id: "i\(n)", from: image)
///     // start a process chrooted into instance.rootfs; it reads the image
///     // and writes privately
///     print(try driver.usage(of: instance))       // what this instance added
///     try driver.destroy(instance)
/// }
/// try driver.settle()                             // deferred work, if any
/// try driver.remove(image)
/// ```
///
/// Every driver keeps all of its state under `root`, records each mount,
/// subvolume and directory in the journal before it creates it, and is
/// described by `capabilities` so callers never branch on a driver's name.
/// Options (`overlay:metacopy=on`) come in through `init`, are declared in
/// `options`, and may change the capabilities.
/// Instances and prepared images are plain values: a later process can
/// destroy an instance created by an earlier one.
public protocol StorageDriver: AnyObject, Sendable {
    /// The name users type: `overlay`, `btrfs`, `copy`.
    static var name: String { get }
    /// The capabilities with no options given.
    static var capabilities: DriverCapabilities { get }
    /// The options a spec may give (`overlay:volatile`); none by default.
    static var options: [DriverOptionInfo] { get }
    /// The capabilities with `options` in force.
    static func capabilities(_ options: DriverOptions) -> DriverCapabilities
    /// Why the host refuses `options`, found without creating anything
    /// (the kernel's words), or nil.
    static func check(_ options: DriverOptions) -> String?

    /// Opens the driver on `root`. Fails at once, naming the path, if `root`
    /// cannot hold this driver (for example btrfs on ext4) or the kernel
    /// refuses an option (with the kernel's reason).
    init(root: String, journal: ResourceJournal, options: DriverOptions) throws

    /// Turns image layers into the driver's own representation.
    func prepare(_ image: ImageLayers) throws -> PreparedImage
    /// A private, writable rootfs made from a prepared image.
    func create(id: String, from image: PreparedImage) throws -> Instance
    func destroy(_ instance: Instance) throws
    /// Bytes and inodes that belong to this instance alone.
    func usage(of instance: Instance) throws -> TreeUsage
    func remove(_ image: PreparedImage) throws
    /// Waits for work a destroy deferred (btrfs's cleaner), so that space
    /// figures read afterwards are final.
    func settle() throws
    /// What `create` does for `image`, reduced to the kernel mechanism, so
    /// a baseline can replay it without cowbench in the way; nil when no
    /// raw reference loop exists for this driver.
    func mechanism(for image: PreparedImage) -> DriverMechanism?
    /// A change of kernel API the driver makes for this image (overlay past
    /// one page of mount options), so a step in a sweep's curve is not
    /// mistaken for the kernel's; nil when there is none to tell.
    func apiNote(for image: PreparedImage, instance id: String) -> String?
    /// Where the instances' data lands when it is not under `root` (a host
    /// containerd's snapshotter root): space is read from that filesystem.
    /// nil means `root`'s.
    var dataRoot: String? { get }
    /// Processes of the driver's own that serve every instance (an embedded
    /// containerd), so that a run can charge their memory to itself.
    var daemons: [pid_t] { get }
}

extension StorageDriver {
    public static var options: [DriverOptionInfo] { [] }
    public static func capabilities(_ options: DriverOptions) -> DriverCapabilities { capabilities }
    public static func check(_ options: DriverOptions) -> String? { nil }
    public func apiNote(for image: PreparedImage, instance id: String) -> String? { nil }
    public func mechanism(for image: PreparedImage) -> DriverMechanism? { nil }
    public var dataRoot: String? { nil }
    public var daemons: [pid_t] { [] }
}

/// A driver's create and destroy as bare kernel operations: what a C loop or
/// a shell loop would do by hand to get the same rootfs.
public enum DriverMechanism: Sendable, Equatable {
    /// mkdir upper, work and merged; mount overlay with `lowerdir` (top layer
    /// first) and `options`; umount; remove the directories.
    case overlay(lowerdir: String, options: [String])
    /// A writable btrfs snapshot of `source`; delete it.
    case snapshot(source: String)
    /// A full copy of the tree at `source`; remove it.
    case copy(source: String)
}

/// What a driver can do, so harness, CLI and tests decide by capability.
public struct DriverCapabilities: Sendable, Equatable {
    /// What a first write to an image file copies.
    public enum CopyGranularity: String, Sendable {
        /// The whole file is copied up on the first write (overlayfs).
        case file
        /// Only the changed extents or tree blocks are copied (btrfs).
        case extent
        /// Nothing to copy: every instance already owns a full copy.
        case fullCopy = "full-copy"
        /// Not known to cowbench (a containerd snapshotter it names only).
        case unknown
    }

    public var copyGranularity: CopyGranularity
    /// Whether instances read image files through one shared page cache.
    public var sharesPageCache: Bool
    /// The deepest image the driver accepts.
    public var maxLayers: Int
    /// A filesystem `root` must be on, if the driver needs one.
    public var requiredFilesystem: ScratchFilesystem.Kind?
    /// What cowbench formats when it makes the scratch filesystem itself.
    public var scratchFilesystem: ScratchFilesystem.Kind
    /// Whether each instance is a mount that processes see in the mount table.
    public var mountsInstances: Bool
    /// Whether destroy leaves deferred work for the filesystem (btrfs cleaner).
    public var deferredDestroyWork: Bool
    /// A line for `cowbench drivers`.
    public var summary: String
    /// Whether rename(2) of a directory that came from the image works in
    /// place; overlay without `redirect_dir` gives EXDEV and `mv` copies.
    public var renamesImageDirectories = true
    /// Whether a chown or chmod of an image file copies only its metadata
    /// (overlay's `metacopy=on`), not its data.
    public var metadataOnlyCopyUp = false
    /// Whether each instance is served by a daemon process of its own (FUSE).
    public var daemonPerInstance = false
    /// Host programs the driver runs, which must be installed.
    public var requiredTools: [String] = []
    /// The filesystem each instance is mounted as (overlay, fuse), if any.
    public var instanceFilesystem: String?
    /// Whether instances' data lands on storage the host owns (a host
    /// containerd's), not on a scratch filesystem of cowbench's: nothing
    /// may fill it, so `exhaust` refuses such a driver.
    public var usesHostStorage = false

    public init(copyGranularity: CopyGranularity, sharesPageCache: Bool, maxLayers: Int,
                requiredFilesystem: ScratchFilesystem.Kind?, scratchFilesystem: ScratchFilesystem.Kind,
                mountsInstances: Bool, deferredDestroyWork: Bool, summary: String) {
        self.copyGranularity = copyGranularity
        self.sharesPageCache = sharesPageCache
        self.maxLayers = maxLayers
        self.requiredFilesystem = requiredFilesystem
        self.scratchFilesystem = scratchFilesystem
        self.mountsInstances = mountsInstances
        self.deferredDestroyWork = deferredDestroyWork
        self.summary = summary
    }
}

/// An image as an ordered list of layer directories, bottom layer first, in
/// overlayfs's on-disk format: a character device 0/0 deletes the entry below
/// and `trusted.overlay.opaque=y` on a directory hides everything below it.
public struct ImageLayers: Sendable, Equatable {
    public let name: String
    public let layers: [String]

    public init(name: String, layers: [String]) {
        self.name = name
        self.layers = layers
    }
}

/// An image in a driver's own representation.
public struct PreparedImage: Sendable, Equatable, Codable {
    public let name: String
    public let driver: String
    /// The driver-owned directory that holds the representation.
    public let path: String
    public let layerCount: Int

    public init(name: String, driver: String, path: String, layerCount: Int) {
        self.name = name
        self.driver = driver
        self.path = path
        self.layerCount = layerCount
    }

    /// Where a shared helper put an image, before a driver names itself on it.
    struct Draft {
        let path: String
        let layerCount: Int
    }
}

/// One private rootfs.
public struct Instance: Sendable, Equatable, Codable {
    public let id: String
    public let driver: String
    public let image: String
    /// Where a process should chroot.
    public let rootfs: String
    /// The driver-owned directory that holds everything of this instance.
    public let path: String

    public init(id: String, driver: String, image: String, rootfs: String, path: String) {
        self.id = id
        self.driver = driver
        self.image = image
        self.rootfs = rootfs
        self.path = path
    }
}

/// A driver-level failure with a message that says what is actually wrong.
public struct DriverError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
