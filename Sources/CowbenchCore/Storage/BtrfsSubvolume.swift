import CBtrfsUtil
import Glibc

/// libbtrfsutil calls, each failure thrown as a SyscallError that carries
/// the library's own message as its hint.
///
/// Every call uses the `_fd` variant on a descriptor opened O_CLOEXEC: the
/// path variants open without it, and a child started by another thread
/// meanwhile would inherit those descriptors (the box also closes every
/// descriptor above 2, but a leak should not depend on that).
public enum BtrfsSubvolume {
    public static func create(_ path: String) throws {
        let parent = try FileDescriptor(Path.parent(path), flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_create_subvolume", path) {
            btrfs_util_create_subvolume_fd(parent.raw, Path.base(path), 0, nil, nil)
        }
    }

    /// A snapshot of `source` at `destination`; writable unless `readOnly`.
    public static func snapshot(_ source: String, to destination: String, readOnly: Bool = false) throws {
        let flags: Int32 = readOnly ? Int32(BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY) : 0
        let from = try FileDescriptor(source, flags: O_RDONLY | O_DIRECTORY)
        let parent = try FileDescriptor(Path.parent(destination), flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_create_snapshot", destination) {
            btrfs_util_create_snapshot_fd2(from.raw, parent.raw, Path.base(destination), flags, nil, nil)
        }
    }

    public static func delete(_ path: String) throws {
        let parent = try FileDescriptor(Path.parent(path), flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_delete_subvolume", path) {
            btrfs_util_delete_subvolume_fd(parent.raw, Path.base(path), 0)
        }
    }

    public static func setReadOnly(_ path: String, _ readOnly: Bool) throws {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_set_subvolume_read_only", path) { btrfs_util_set_subvolume_read_only_fd(fd.raw, readOnly) }
    }

    /// The commit that also wakes the cleaner for deleted subvolumes.
    public static func sync(_ path: String) throws {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_sync", path) { btrfs_util_sync_fd(fd.raw) }
    }

    /// Waits until the cleaner has dropped every deleted subvolume.
    public static func waitForCleaner(_ path: String) throws {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        var ids: UnsafeMutablePointer<UInt64>?
        var count = 0
        try check("btrfs_util_deleted_subvolumes", path) { btrfs_util_deleted_subvolumes_fd(fd.raw, &ids, &count) }
        defer { free(ids) }
        for i in 0..<count {
            let id = ids![i]
            while true {
                var info = btrfs_util_subvolume_info()
                let err = btrfs_util_subvolume_info_fd(fd.raw, id, &info)
                if err == BTRFS_UTIL_ERROR_SUBVOLUME_NOT_FOUND { break }
                if err != BTRFS_UTIL_OK { throw error("btrfs_util_subvolume_info", path, err) }
                try StopRequest.check("waiting for the btrfs cleaner on \(path)")
                usleep(10_000)
            }
        }
    }

    /// How many deleted subvolumes wait for the cleaner: the backlog that
    /// churn builds and that holds metadata until the cleaner drops it.
    public static func deletedCount(_ path: String) throws -> Int {
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        var ids: UnsafeMutablePointer<UInt64>?
        var count = 0
        try check("btrfs_util_deleted_subvolumes", path) { btrfs_util_deleted_subvolumes_fd(fd.raw, &ids, &count) }
        free(ids)
        return count
    }

    /// When the subvolume was created (its otime).
    public static func creationTime(_ path: String) throws -> timespec {
        var info = btrfs_util_subvolume_info()
        let fd = try FileDescriptor(path, flags: O_RDONLY | O_DIRECTORY)
        try check("btrfs_util_subvolume_info", path) { btrfs_util_subvolume_info_fd(fd.raw, 0, &info) }
        return info.otime
    }

    private static func check(_ call: String, _ path: String, _ body: () -> btrfs_util_error) throws {
        let err = body()
        if err != BTRFS_UTIL_OK { throw error(call, path, err) }
    }

    private static func error(_ call: String, _ path: String, _ err: btrfs_util_error) -> SyscallError {
        let e = Glibc.errno
        let msg = String(cString: btrfs_util_strerror(err))
        return SyscallError(call, path: path, errno: e == 0 ? EIO : e, hint: msg)
    }
}
