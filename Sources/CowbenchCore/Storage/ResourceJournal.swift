import Foundation
import Glibc

/// Something cowbench created on the host and must remove again.
public enum Resource: Equatable, Sendable, CustomStringConvertible {
    case directory(String)
    case file(String)
    case loop(device: String, backingFile: String)
    case mount(String)
    case subvolume(String)
    /// A memory cgroup directory (see `MemoryCgroup`).
    case cgroup(String)
    /// A daemon serving `mountPoint` (fuse-overlayfs), found by its command
    /// line; recorded before it starts, like everything else.
    case daemon(program: String, mountPoint: String)
    /// A snapshot cowbench prepared in a containerd it did not start (the
    /// host's, at `address`), in cowbench's namespace there.
    case containerdSnapshot(address: String, snapshotter: String, key: String)
    /// An image cowbench imported into such a containerd.
    case containerdImage(address: String, reference: String)

    public var description: String { fields.joined(separator: " ") }

    /// The path the resource lives at (the backing file for a loop device).
    public var path: String {
        switch self {
        case .directory(let p), .file(let p), .mount(let p), .subvolume(let p), .cgroup(let p): p
        case .loop(_, let b): b
        case .daemon(_, let m): m
        case .containerdSnapshot(let a, _, _), .containerdImage(let a, _): a
        }
    }

    var fields: [String] {
        switch self {
        case .directory(let p): ["dir", p]
        case .file(let p): ["file", p]
        case .loop(let d, let b): ["loop", d, b]
        case .mount(let p): ["mount", p]
        case .subvolume(let p): ["subvol", p]
        case .cgroup(let p): ["cgroup", p]
        case .daemon(let program, let m): ["daemon", program, m]
        case .containerdSnapshot(let a, let s, let k): ["csnap", a, s, k]
        case .containerdImage(let a, let r): ["cimage", a, r]
        }
    }

    init?(fields f: [String]) {
        switch (f.first, f.count) {
        case ("dir", 2): self = .directory(f[1])
        case ("file", 2): self = .file(f[1])
        case ("loop", 3): self = .loop(device: f[1], backingFile: f[2])
        case ("mount", 2): self = .mount(f[1])
        case ("subvol", 2): self = .subvolume(f[1])
        case ("cgroup", 2): self = .cgroup(f[1])
        case ("daemon", 3): self = .daemon(program: f[1], mountPoint: f[2])
        case ("csnap", 4): self = .containerdSnapshot(address: f[1], snapshotter: f[2], key: f[3])
        case ("cimage", 3): self = .containerdImage(address: f[1], reference: f[2])
        default: return nil
        }
    }
}

/// An append-only record of what cowbench creates, written *before* each
/// resource exists, so that a crash at any moment leaves a journal that names
/// everything that might need removing, and nothing that is not cowbench's.
///
/// Lines are `+<TAB>kind<TAB>path…` when a resource is about to be created and
/// `-<TAB>…` once it is gone. `teardown()` removes live resources newest first.
public final class ResourceJournal: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var live: [Resource] = []
    private let fd: FileDescriptor

    /// Another live cowbench process holds this journal.
    public struct Busy: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is in use by a running cowbench" }
    }

    /// Opens (or creates) the journal at `path` and replays what it recorded.
    /// The journal stays locked (flock) while this object lives, so `cleanup`
    /// can tell a crashed run's journal from a running one's; throws `Busy`
    /// if another process holds it.
    public init(path: String) throws {
        try FileSystem.createDirectories(Path.parent(path))
        self.path = path
        if FileSystem.exists(path) {
            fd = try FileDescriptor(path, flags: O_WRONLY | O_CREAT | O_APPEND, mode: 0o644)
            try Self.lock(fd, path)
        } else {
            // A new journal appears under its name only once it is locked, so
            // a `cleanup` running meanwhile can never take it for a dead one.
            let fresh = Path.parent(path) + "/." + Path.base(path) + ".new-\(getpid())"
            fd = try FileDescriptor(fresh, flags: O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, mode: 0o644)
            try Self.lock(fd, fresh)
            try FileSystem.rename(fresh, path)
        }
        live = try Self.replay(path)
    }

    private static func lock(_ fd: FileDescriptor, _ path: String) throws {
        var rc: Int32
        repeat { rc = flock(fd.raw, LOCK_EX | LOCK_NB) } while rc != 0 && errno == EINTR
        if rc != 0 {
            if errno == EWOULDBLOCK { throw Busy(path: path) }
            throw SyscallError("flock", path: path)
        }
    }

    /// Resources recorded and not yet released, oldest first.
    public var resources: [Resource] { lock.withLock { live } }

    public func record(_ r: Resource) throws {
        try lock.withLock {
            try append("+", r)
            // A record under a live directory, mount or subvolume of this
            // journal is reached through that one even if a power cut loses
            // it; the others reach the disk now (instances never pay this).
            if !live.contains(where: { r.path.hasPrefix($0.path + "/") }) {
                try retrying("fdatasync", path: path) { fdatasync(fd.raw) }
            }
            live.append(r)
        }
    }

    public func release(_ r: Resource) throws {
        try lock.withLock {
            guard let i = live.lastIndex(of: r) else { return }
            try append("-", r)
            live.remove(at: i)
        }
    }

    /// Marks `r` as gone even when the journal cannot be written (its
    /// filesystem is full): the resource itself is gone, and a journal whose
    /// every resource is gone is deleted at the end of teardown anyway.
    private func forget(_ r: Resource) {
        lock.withLock {
            guard let i = live.lastIndex(of: r) else { return }
            try? append("-", r)
            live.remove(at: i)
        }
    }

    /// Removes every live resource, newest first. Keeps going past failures
    /// and throws the first one at the end, so one stuck mount does not leave
    /// the rest behind. Returns what it removed.
    ///
    /// A filesystem cowbench made on one of its own loop devices goes as a
    /// whole: what was mounted inside it is unmounted, and what it holds is
    /// not deleted one by one (on a full btrfs a delete can itself fail with
    /// ENOSPC, and unmounting is faster anyway).
    @discardableResult
    public func teardown() throws -> [Resource] {
        var removed: [Resource] = []
        // Daemons first: they live outside any filesystem, so going "as a
        // whole" below would forget them running, and a stopped one would
        // make a plain unmount of its mount wait.
        var firstError = removeEach(into: &removed, where: Self.isDaemon)
        for mountPoint in ownFilesystems() {
            do {
                for m in Mounts.mounts(under: mountPoint) where m.mountPoint != mountPoint { try Mounts.unmount(m.mountPoint) }
                let prefix = mountPoint + "/"
                for r in resources.reversed() where r.path.hasPrefix(prefix) {
                    forget(r)
                    removed.append(r)
                }
            } catch {
                firstError = firstError ?? error
            }
        }
        if let e = removeEach(into: &removed) { firstError = firstError ?? e }
        if firstError == nil, resources.isEmpty { try? FileSystem.unlink(path) }
        if let firstError { throw firstError }
        return removed
    }

    /// Stops every live daemon, newest first, and returns what it stopped; a
    /// daemon holds files on the filesystems cowbench would unmount next.
    @discardableResult
    public func stopDaemons() throws -> [Resource] {
        var stopped: [Resource] = []
        if let e = removeEach(into: &stopped, where: Self.isDaemon) { throw e }
        return stopped
    }

    private static func isDaemon(_ r: Resource) -> Bool { if case .daemon = r { true } else { false } }

    /// Removes each live resource `include` picks, newest first, going on
    /// past failures; returns the first failure.
    private func removeEach(into removed: inout [Resource], where include: (Resource) -> Bool = { _ in true }) -> Error? {
        var firstError: Error?
        for r in resources.reversed() where include(r) {
            do {
                try Self.remove(r)
                forget(r)
                removed.append(r)
            } catch {
                firstError = firstError ?? error
            }
        }
        return firstError
    }

    /// Mount points of live mounts whose source is a live loop device of this journal.
    private func ownFilesystems() -> [String] {
        let live = resources
        let loops = Set(live.compactMap { if case .loop(let d, _) = $0 { d } else { nil } })
        guard !loops.isEmpty else { return [] }
        let table = Mounts.table()
        return live.compactMap { r -> String? in
            guard case .mount(let m) = r, table.contains(where: { $0.mountPoint == m && loops.contains($0.source) }) else { return nil }
            return m
        }
    }

    /// Removes one resource if it still exists; removing a missing one is a no-op.
    public static func remove(_ r: Resource) throws {
        switch r {
        case .mount(let target):
            for m in Mounts.mounts(under: target) { try Mounts.unmount(m.mountPoint) }
        case .loop(let device, let backing):
            try LoopDevice.detach(device, ifBackedBy: backing)
        case .file(let p):
            if FileSystem.exists(p) { try FileSystem.unlink(p) }
        case .directory(let p):
            try TreeRemover.remove(p)
        case .subvolume(let p):
            if FileSystem.exists(p) { try BtrfsSubvolume.delete(p) }
        case .cgroup(let p):
            try MemoryCgroup.remove(p)
        case .daemon(let program, let m):
            // Its mount goes first, lazily: a stale FUSE mount (daemon dead,
            // "Transport endpoint is not connected") or a hung daemon must
            // not block the unmount; then the daemon gets a moment to exit.
            if !Mounts.mounts(under: m).isEmpty { _ = umount2(m, Int32(MNT_DETACH)) }
            for pid in DaemonProcess.find(program: program, mountPoint: m) { DaemonProcess.stop(pid, grace: 1) }
        case .containerdSnapshot(let address, let snapshotter, let key):
            try ContainerdResources.removeSnapshot(key, snapshotter: snapshotter, address: address)
        case .containerdImage(let address, let reference):
            try ContainerdResources.removeImage(reference, address: address)
        }
    }

    private func append(_ op: String, _ r: Resource) throws {
        try FileSystem.writeAll(Array((([op] + r.fields).joined(separator: "\t") + "\n").utf8), to: fd)
    }

    private static func replay(_ path: String) throws -> [Resource] {
        var live: [Resource] = []
        var text = try FileSystem.read(path)
        // A last line without its newline was cut short (a crash, or ENOSPC
        // mid-write): a torn path could name a parent of what was meant.
        if let end = text.lastIndex(of: "\n") { text = String(text[...end]) } else { text = "" }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let op = f.first, let r = Resource(fields: Array(f.dropFirst())) else { continue }
            if op == "+" { live.append(r) } else if let i = live.lastIndex(of: r) { live.remove(at: i) }
        }
        return live
    }
}
