import Foundation
import Glibc

/// A filesystem made for one run: a sparse image file on a loop device,
/// formatted and mounted under cowbench's state directory. Dedicated to the
/// run, so statfs deltas on it belong to the run alone.
///
/// Every step is recorded in the journal before it happens, so `destroy()`
/// (or a later cleanup from the journal) undoes exactly what was done.
public final class ScratchFilesystem {
    /// Everything cowbench knows about a kind of scratch filesystem lives
    /// here; `doctor` and driver availability read it from these cases.
    public enum Kind: String, Sendable, CaseIterable {
        case ext4, btrfs, xfs

        /// The mkfs command line, device last.
        public var mkfsArguments: [String] {
            switch self {
            // Lazy inode tables plus noinit_itable: no background zeroing that
            // would fill the sparse image and disturb the measurements.
            case .ext4: ["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1"]
            // mkfs defaults otherwise (single data, DUP metadata, not mixed).
            case .btrfs: ["mkfs.btrfs", "-q", "-f", "-K"]
            // reflink=1 is the default of recent xfsprogs; say it, since the
            // reflink driver depends on it. -K: no discard of the sparse file.
            case .xfs: ["mkfs.xfs", "-q", "-f", "-K", "-m", "reflink=1"]
            }
        }

        public var mountOptions: String { self == .ext4 ? "noinit_itable" : "" }

        /// The Debian package with the mkfs, for hints.
        public var package: String {
            switch self {
            case .ext4: "e2fsprogs"
            case .btrfs: "btrfs-progs"
            case .xfs: "xfsprogs"
            }
        }

        /// Smallest size mkfs accepts (xfs refuses under 300 MiB).
        public var minimumSize: UInt64 { self == .xfs ? 300 << 20 : 16 << 20 }

        /// Why no scratch filesystem of this kind can be made here, or nil.
        public var hostProblem: String? {
            if !HostCheck.kernelHasFilesystem(rawValue) {
                return "the kernel has no \(rawValue) filesystem (not in /proc/filesystems; try modprobe \(rawValue))"
            }
            if Command.find(mkfsArguments[0]) == nil {
                return "\(mkfsArguments[0]) is missing, so no scratch \(rawValue) can be made; run scripts/setup.sh (Debian package \(package))"
            }
            return nil
        }
    }

    public let kind: Kind
    public let directory: String
    public let imagePath: String
    public let mountPoint: String
    public private(set) var loopDevice: String?
    /// Whether the loop device does direct I/O on its backing file.
    public private(set) var directIO = false
    /// The mkfs command line and the mount options, for the run's CSVs.
    public let mkfsArguments: [String]
    public let mountOptions: String
    private let journal: ResourceJournal

    /// Creates, formats and mounts a scratch filesystem of `size` bytes in
    /// `directory`, which must not exist yet.
    public init(kind: Kind, size: UInt64, directory: String, journal: ResourceJournal) throws {
        self.kind = kind
        self.directory = directory
        self.imagePath = directory + "/disk.img"
        self.mountPoint = directory + "/mnt"
        self.journal = journal
        mkfsArguments = kind.mkfsArguments
        mountOptions = kind.mountOptions
        guard let mkfs = Command.find(mkfsArguments[0]) else {
            throw SetupError("\(mkfsArguments[0]) not found; run scripts/setup.sh to install it (Debian package \(kind.package))")
        }
        guard size >= kind.minimumSize else {
            throw SetupError("a scratch \(kind.rawValue) needs at least \(kind.minimumSize >> 20) MiB, not \(size >> 20) MiB; raise --scratch-size")
        }
        do {
            try FileSystem.createDirectories(Path.parent(directory))
            try journal.record(.directory(directory))
            try FileSystem.mkdir(directory, mode: 0o700)
            try journal.record(.file(imagePath))
            let img = try FileDescriptor(imagePath, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
            try retrying("ftruncate", path: imagePath) { ftruncate(img.raw, off_t(size)) }
            try FileSystem.mkdir(mountPoint, mode: 0o755)

            let loop = try LoopDevice(backingFile: imagePath)
            loopDevice = loop.path
            directIO = loop.directIO
            try journal.record(.loop(device: loop.path, backingFile: imagePath))
            try Command.run([mkfs] + mkfsArguments.dropFirst() + [loop.path])
            try journal.record(.mount(mountPoint))
            try Mounts.mount(source: loop.path, target: mountPoint, type: kind.rawValue,
                             data: mountOptions.isEmpty ? nil : mountOptions)
            loop.release()
        } catch {
            try? destroy()
            throw error
        }
    }

    public func stats() throws -> FilesystemStats { try FileSystem.statfs(mountPoint) }

    /// Unmounts everything under the mount point, lets the loop device go,
    /// and deletes the image and directory. Safe to call twice.
    public func destroy() throws {
        for r in [Resource.mount(mountPoint)]
            + (loopDevice.map { [Resource.loop(device: $0, backingFile: imagePath)] } ?? [])
            + [.file(imagePath), .directory(directory)] {
            try ResourceJournal.remove(r)
            try journal.release(r)
        }
    }
}

/// A problem with the host or the arguments, found before anything is created.
public struct SetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
