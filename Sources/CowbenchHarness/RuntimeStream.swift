import CowbenchCore
import Glibc

/// What a container runtime does on its storage per container, reduced to
/// the filesystem operations, so `exhaust --like docker` fails where a real
/// runtime's btrfs fails rather than where a staged setup does.
///
/// Modelled on Docker's btrfs storage driver (measured by hand here with
/// docker.io 20.10): an init snapshot of the image, which gets the runtime's
/// placeholder files; a writable snapshot; the runtime's own bookkeeping
/// files beside them on the same filesystem, each written to a temporary
/// name and renamed into place as Docker's AtomicWriteFile does (its first
/// ENOSPC was such a rename), at create and at start; the workload's small
/// files; and the config written once more at exit.
public enum RuntimeStream {
    /// The runtimes cowbench can imitate.
    public enum Like: String, Sendable, CaseIterable {
        case docker
    }

    /// One container's storage: two snapshots and a bookkeeping directory.
    public struct Container: Sendable {
        public var initLayer: Instance
        public var writable: Instance?
        public var bookkeeping: String
    }

    /// Placeholders Docker's init layer holds (empty files, mount targets).
    static let initFiles = ["/.dockerenv", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]
    static let initDirectories = ["/dev", "/dev/pts", "/dev/shm", "/proc", "/sys", "/etc"]

    /// Docker's per-container files, with sizes like a busybox container's,
    /// in the order its lifecycle writes them: on create, on start, and
    /// config.v2.json once more on exit (each write replaces the file by a
    /// rename). config.v2.json is over btrfs's 2 KiB inline limit, so every
    /// write of it takes new data extents and frees the old ones.
    static let onCreate: [(String, Int)] = [("config.v2.json", 3300), ("hostconfig.json", 1550)]
    static let onStart: [(String, Int)] = [
        ("config.v2.json", 3400), ("hostconfig.json", 1550), ("hostname", 13), ("hosts", 174),
        ("resolv.conf", 96), ("resolv.conf.hash", 71),
    ]
    static let onExit: [(String, Int)] = [("config.v2.json", 3450)]

    static func writeAtomically(_ files: [(String, Int)], in dir: String) throws {
        for (name, size) in files {
            let body = [UInt8](repeating: 0x7b, count: size)
            try FileSystem.write(body, to: dir + "/." + name + ".tmp")
            try FileSystem.rename(dir + "/." + name + ".tmp", dir + "/" + name)
        }
    }

    /// Creates one container the way the runtime does. On ENOSPC the error
    /// is thrown with what it hit, and `partial` holds what already exists,
    /// so the caller can keep or remove it.
    public static func create(_ n: Int, driver: any StorageDriver, image: PreparedImage, root: String,
                              files: Int, fileSize: Int, partial: inout Container?) throws {
        let initLayer = try driver.create(id: "c\(n)-init", from: image)
        let dir = root + "/containers/c\(n)"
        partial = Container(initLayer: initLayer, writable: nil, bookkeeping: dir)
        for d in initDirectories { try FileSystem.createDirectories(initLayer.rootfs + d) }
        for f in initFiles { try FileSystem.write("", to: initLayer.rootfs + f) }
        let writable = try driver.create(id: "c\(n)", from: image)
        partial?.writable = writable
        try FileSystem.createDirectories(dir)
        try writeAtomically(onCreate, in: dir)
        try writeAtomically(onStart, in: dir)
        try FileSystem.write("", to: dir + "/c\(n)-json.log")
        let data = writable.rootfs + "/data"
        try FileSystem.createDirectories(data)
        let body = [UInt8](repeating: 0x30 + UInt8(n % 10), count: fileSize)
        for i in 0..<files {
            let fd = try FileDescriptor(data + "/f\(i)", flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            try FileSystem.writeAll(body, to: fd)
        }
        try writeAtomically(onExit, in: dir)
    }

    /// Removes one container as `docker rm` does: both snapshots and the
    /// bookkeeping directory; btrfs's cleaner frees the space later.
    public static func remove(_ c: Container, driver: any StorageDriver) throws {
        if let w = c.writable { try driver.destroy(w) }
        try driver.destroy(c.initLayer)
        try TreeRemover.remove(c.bookkeeping)
    }
}
