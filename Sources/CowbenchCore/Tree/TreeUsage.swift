import Glibc

/// Allocated bytes and inodes of a tree, each hardlinked inode counted once.
public struct TreeUsage: Sendable, Equatable {
    public var bytes: UInt64 = 0
    public var inodes: UInt64 = 0

    public init(bytes: UInt64 = 0, inodes: UInt64 = 0) {
        self.bytes = bytes
        self.inodes = inodes
    }

    /// Walks `path` without crossing into other filesystems. With
    /// `changedSince`, counts only inodes whose ctime is at or after it.
    public static func measure(_ path: String, changedSince: timespec? = nil) throws -> TreeUsage {
        let root = try FileDescriptor.directory(path)
        var st = Glibc.stat()
        try retrying("fstat", path: path) { fstat(root.raw, &st) }
        var walker = Walker(device: st.st_dev, since: changedSince)
        walker.count(st)
        try walker.walk(root.raw, path: path)
        return walker.usage
    }

    private struct Walker {
        let device: dev_t
        let since: timespec?
        var usage = TreeUsage()
        var seen = Set<UInt64>()

        mutating func count(_ st: stat) {
            if let since, (st.st_ctim.tv_sec, st.st_ctim.tv_nsec) < (since.tv_sec, since.tv_nsec) { return }
            if st.st_nlink > 1 && !DirectoryEntries.isDirectory(st) {
                guard seen.insert(UInt64(st.st_ino)).inserted else { return }
            }
            usage.inodes += 1
            usage.bytes += UInt64(st.st_blocks) * 512
        }

        mutating func walk(_ fd: Int32, path: String) throws {
            for name in try DirectoryEntries.names(fd, path: path) {
                let child = path + "/" + name
                guard let st = try DirectoryEntries.stat(fd, name, path: child) else { continue }
                count(st)
                if DirectoryEntries.isDirectory(st) && st.st_dev == device {
                    let sub = try FileDescriptor.directory(name, at: fd, fullPath: child)
                    try walk(sub.raw, path: child)
                }
            }
        }
    }
}
