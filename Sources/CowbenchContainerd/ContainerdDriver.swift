import ContainerdAPI
import CowbenchCore
import Foundation
import Glibc

/// A containerd snapshotter (overlayfs, btrfs, native) as a cowbench
/// driver, through containerd's snapshots API, as a runtime uses it:
/// create is Prepare(key, parent) and then performing the mounts it
/// returns; destroy is unmounting and Remove(key). The image goes in with
/// containerd's own import, unpacked by the same snapshotter, so parents
/// are the image's chain IDs. By default each driver runs a containerd of
/// its own whose root is on the driver's scratch filesystem; with
/// `address=SOCKET` it uses a running one (the host's), working only in
/// cowbench's namespace there and journaling every snapshot and image it
/// makes, so that `cleanup` can remove them after a kill -9.
public final class ContainerdDriver: StorageDriver {
    public static let name = "containerd"
    public static let snapshotters = ["overlayfs", "btrfs", "native"]
    public static let options = [
        DriverOptionInfo("overlayfs", help: "containerd's overlayfs snapshotter (the default)"),
        DriverOptionInfo("btrfs", help: "containerd's btrfs snapshotter, on a scratch btrfs"),
        DriverOptionInfo("native", help: "containerd's native snapshotter: a full copy per snapshot"),
        DriverOptionInfo("snapshotter", placeholder: "NAME", help: "any other snapshotter that containerd has (a proxy plugin on the host's); "
            + "cowbench knows nothing of its mechanism, so an instance's space is its whole rootfs unless it mounts overlay"),
        DriverOptionInfo("address", placeholder: "SOCKET", help: "a running containerd's socket (the host's: /run/containerd/containerd.sock) "
            + "instead of one of cowbench's own; cowbench works only in its namespace 'cowbench' there (also --containerd-address)"),
    ]
    public static let capabilities: DriverCapabilities = ContainerdDriver.capabilities(DriverOptions())

    static func snapshotter(_ o: DriverOptions) -> String { o.value("snapshotter") ?? snapshotters.first { o.has($0) } ?? "overlayfs" }

    public static func capabilities(_ o: DriverOptions) -> DriverCapabilities {
        let s = snapshotter(o), address = o.value("address")
        // A host containerd keeps snapshots where it likes; the scratch
        // filesystem then holds only the instances' mount points.
        let own = address == nil && s == "btrfs"
        var c = DriverCapabilities(
            copyGranularity: s == "overlayfs" ? .file : s == "btrfs" ? .extent : s == "native" ? .fullCopy : .unknown,
            sharesPageCache: s == "overlayfs",
            // Every layer is a containerd import and unpack: checked this deep.
            maxLayers: 128,
            requiredFilesystem: own ? .btrfs : nil, scratchFilesystem: own ? .btrfs : .ext4,
            // Remove leaves the files to containerd's garbage collection.
            mountsInstances: true, deferredDestroyWork: true,
            summary: "containerd's \(s) snapshotter through its snapshots API ("
                + (address.map { "the containerd at \($0)" } ?? "a containerd of cowbench's own") + ")")
        // containerd mounts overlay with index=off and no redirect_dir.
        c.renamesImageDirectories = s != "overlayfs"
        c.requiredTools = address == nil ? [ContainerdDaemon.program, "ctr"] : ["ctr"]
        c.usesHostStorage = address != nil
        c.instanceFilesystem = s == "overlayfs" ? "overlay" : s == "btrfs" ? "btrfs" : nil
        // Unknown ones are checked against the daemon's own list when opened.
        return c
    }

    public static func check(_ o: DriverOptions) -> String? {
        let given = snapshotters.filter { o.has($0) } + (o.value("snapshotter").map { [$0] } ?? [])
        if given.count > 1 { return "containerd takes one snapshotter, not \(given.joined(separator: " and "))" }
        if let a = o.value("address"), !a.hasPrefix("/") {
            return "containerd's address must be the absolute path of its socket, not '\(a)'"
        }
        return nil
    }

    public let root: String
    public let snapshotter: String
    /// The socket: the embedded daemon's, or the one `address=` names.
    public let address: String
    public let dataRoot: String?
    private let journal: ResourceJournal
    /// nil on a containerd cowbench did not start.
    private let daemon: ContainerdDaemon?
    private let client: ContainerdClient
    /// Begins every key and image tag of this driver, so that two runs on
    /// one containerd never meet.
    private let tag: String

    public var daemons: [pid_t] { daemon.map { [$0.pid] } ?? [] }

    public init(root: String, journal: ResourceJournal, options: DriverOptions = DriverOptions()) throws {
        if let problem = Self.check(options) { throw DriverError(problem) }
        self.root = root
        self.journal = journal
        snapshotter = Self.snapshotter(options)
        tag = ContainerdDaemon.shortHash(root)
        try DriverLayout.prepareRoot(root, journal: journal)
        if let given = options.value("address") {
            guard ContainerdDaemon.accepts(given) else {
                throw DriverError("nothing accepts connections on \(given) (connect: \(String(cString: strerror(errno)))); "
                    + "is containerd running there (systemctl status containerd)? Leave out the address to use a containerd of cowbench's own")
            }
            address = given
            daemon = nil
        } else {
            let own = try ContainerdDaemon(directory: root + "/containerd", journal: journal)
            address = own.socket
            daemon = own
        }
        let client = try ContainerdClient(socket: address, snapshotter: snapshotter)
        do {
            dataRoot = try Self.snapshotterRoot(client, own: daemon)
        } catch {
            // containerd's graceful stop waits for open connections, so close
            // this one before the journal's teardown stops the daemon.
            client.close()
            throw error
        }
        self.client = client
    }

    /// Where the snapshotter keeps its snapshots, on a containerd cowbench did
    /// not start (nil on its own: under `root`). A snapshotter that is missing
    /// or did not load (btrfs off btrfs) says so here, not at the first instance.
    private static func snapshotterRoot(_ client: ContainerdClient, own: ContainerdDaemon?) throws -> String? {
        let log = own.map { "; see \($0.directory)/containerd.log" } ?? ""
        let plugins = try client.snapshotterPlugins(), name = client.snapshotter, at = client.socket
        guard let plugin = plugins.first(where: { $0.id == name }) else {
            throw DriverError("the containerd at \(at) has no \(name) snapshotter; it has \(plugins.map(\.id).joined(separator: ", "))\(log)")
        }
        if let failure = plugin.failure {
            throw DriverError("the containerd at \(at) could not load its \(name) snapshotter: \(failure)\(log)")
        }
        guard own == nil else { return nil }
        guard let r = plugin.root, FileSystem.exists(r) else {
            throw DriverError("the containerd at \(at) gives no root for its \(name) snapshotter that this host can see (\(plugin.root ?? "none")); "
                + "run cowbench in containerd's mount namespace")
        }
        return r
    }

    /// The image as an OCI archive, imported and unpacked by `ctr` (the
    /// path `ctr images import --snapshotter` takes), in cowbench's namespace.
    public func prepare(_ image: ImageLayers) throws -> PreparedImage {
        guard image.layers.count <= Self.capabilities.maxLayers else {
            throw DriverError("image \(image.name) has \(image.layers.count) layers; cowbench checks containerd up to \(Self.capabilities.maxLayers)")
        }
        let dir = try DriverLayout.makeImageDirectory(root, image.name, journal: journal)
        try FileSystem.mkdir(dir + "/oci")
        let reference = ContainerdResources.imagePrefix + "\(image.name):\(tag)"
        let archive = try OCIArchive.write(image, reference: reference, work: dir + "/oci")
        if daemon == nil { try journal.record(.containerdImage(address: address, reference: reference)) }
        try ctr(["images", "import", "--snapshotter", snapshotter, archive.path])
        try TreeRemover.remove(dir + "/oci")
        try FileSystem.write(archive.reference + "\n" + archive.chainIDs.joined(separator: "\n") + "\n", to: dir + "/chain")
        return PreparedImage(name: image.name, driver: Self.name, path: dir, layerCount: image.layers.count)
    }

    public func create(id: String, from image: PreparedImage) throws -> Instance {
        let parent = try Self.chain(image).ids.last ?? ""
        let dir = DriverLayout.instancePath(root, id), rootfs = dir + "/rootfs"
        try journal.record(.directory(dir))
        try FileSystem.mkdir(dir, mode: 0o700)
        try FileSystem.mkdir(rootfs)
        // Outside a lease an active snapshot is garbage: containerd's next
        // collection (after any Remove) would take it while it is mounted.
        if let snapshot = hostSnapshot(id) { try journal.record(snapshot) }
        let mounts = try call { try client.prepare(key: key(id), parent: parent, labels: ["containerd.io/gc.root": "cowbench"]) }
        do {
            try journal.record(.mount(rootfs))
            try SnapshotMounts.perform(mounts, on: rootfs)
        } catch {
            try? client.remove(key: key(id))
            try? ResourceJournal.remove(.mount(rootfs))
            try? journal.release(.mount(rootfs))
            throw error
        }
        return Instance(id: id, driver: Self.name, image: image.name, rootfs: rootfs, path: dir)
    }

    public func destroy(_ instance: Instance) throws {
        do {
            try Mounts.unmount(instance.rootfs)
        } catch let e as SyscallError where e.errno == EINVAL {
            // Not mounted (a create that failed half-way): the snapshot still goes.
        }
        try journal.release(.mount(instance.rootfs))
        try call { try client.remove(key: key(instance.id)) }
        if let snapshot = hostSnapshot(instance.id) { try journal.release(snapshot) }
        try TreeRemover.remove(instance.path)
        try journal.release(.directory(instance.path))
    }

    /// What the snapshot holds of its own: overlay's upper directory, a
    /// btrfs snapshot's changes since it was made, a native copy whole.
    public func usage(of instance: Instance) throws -> TreeUsage {
        let mounts = try call { try client.mounts(key: key(instance.id)) }
        if let upper = mounts.first?.options.first(where: { $0.hasPrefix("upperdir=") })?.dropFirst("upperdir=".count) {
            var u = try TreeUsage.measure(String(upper))
            u.inodes -= 1
            u.bytes -= min(u.bytes, 4096)
            return u
        }
        if snapshotter == "btrfs" {
            return try TreeUsage.measure(instance.rootfs, changedSince: BtrfsSubvolume.creationTime(instance.rootfs))
        }
        return try TreeUsage.measure(instance.rootfs)
    }

    public func remove(_ image: PreparedImage) throws {
        let reference = try Self.chain(image).reference
        try ContainerdResources.removeImage(reference, address: address)
        if daemon == nil { try journal.release(.containerdImage(address: address, reference: reference)) }
        try ResourceJournal.remove(.directory(image.path))
        try journal.release(.directory(image.path))
    }

    /// containerd's deferred removals first, then the filesystem's own.
    public func settle() throws {
        try call { try client.collectGarbage() }
        let data = dataRoot ?? root
        if snapshotter == "btrfs" {
            try BtrfsSubvolume.sync(data)
            try BtrfsSubvolume.waitForCleaner(data)
        }
        try FileSystem.syncfs(data)
    }

    /// A call to containerd; if the daemon is gone, the error says how it ended.
    private func call<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as ContainerdError where e.code == .unavailable {
            guard let daemon else { throw DriverError("\(e); is the containerd at \(address) still running?") }
            var status: Int32 = 0
            let reaped = waitpid(daemon.pid, &status, WNOHANG)
            let state = reaped == daemon.pid ? ((status & 0x7f) == 0 ? "exited with status \((status >> 8) & 0xff)" : "killed by signal \(status & 0x7f)")
                : kill(daemon.pid, 0) == 0 ? "still running" : "gone (\(String(cString: strerror(errno))))"
            let log = daemon.directory + "/containerd.log"
            let tail = ((try? FileSystem.read(log)) ?? "").split(separator: "\n").suffix(8).joined(separator: "\n")
            throw DriverError("\(e); containerd (pid \(daemon.pid)) is \(state); its log \(log) ends:\n\(tail)")
        }
    }

    func key(_ id: String) -> String { ContainerdResources.prefix + tag + "-" + id }

    /// The journal's record of instance `id`'s snapshot, on a containerd
    /// cowbench did not start; on its own, the daemon's root goes whole.
    private func hostSnapshot(_ id: String) -> Resource? {
        daemon == nil ? .containerdSnapshot(address: address, snapshotter: snapshotter, key: key(id)) : nil
    }

    /// The image's reference and chain IDs, as prepare wrote them.
    static func chain(_ image: PreparedImage) throws -> (reference: String, ids: [String]) {
        let lines = try FileSystem.read(image.path + "/chain").split(separator: "\n").map(String.init)
        guard let reference = lines.first, lines.count > 1 else { throw DriverError("\(image.path)/chain is incomplete; prepare the image again") }
        return (reference, Array(lines.dropFirst()))
    }

    private func ctr(_ arguments: [String]) throws {
        guard let binary = Command.find("ctr") else { throw SetupError("ctr is missing; run scripts/setup.sh (Debian package containerd)") }
        do {
            try Command.run([binary, "--address", address, "--namespace", ContainerdResources.namespace] + arguments)
        } catch let f as Command.Failure {
            throw DriverError("ctr \(arguments.prefix(2).joined(separator: " ")) failed (status \(f.status)): "
                + f.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
