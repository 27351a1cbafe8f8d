import CShim
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
    /// With `unsharedOnly`, a regular file's bytes are its extents that
    /// FIEMAP does not flag shared: a reflinked clone is charged only what
    /// it rewrote, not the image it shares.
    public static func measure(_ path: String, changedSince: timespec? = nil, unsharedOnly: Bool = false) throws -> TreeUsage {
        let root = try FileDescriptor.directory(path)
        var st = Glibc.stat()
        try retrying("fstat", path: path) { fstat(root.raw, &st) }
        var walker = Walker(device: st.st_dev, since: changedSince, unsharedOnly: unsharedOnly)
        try walker.count(st)
        try walker.walk(root.raw, path: path)
        return walker.usage
    }

    private struct Walker {
        let device: dev_t
        let since: timespec?
        let unsharedOnly: Bool
        var usage = TreeUsage()
        var seen = Set<UInt64>()

        mutating func count(_ st: stat, unshared: () throws -> UInt64? = { nil }) rethrows {
            if let since, (st.st_ctim.tv_sec, st.st_ctim.tv_nsec) < (since.tv_sec, since.tv_nsec) { return }
            if st.st_nlink > 1 && !DirectoryEntries.isDirectory(st) {
                guard seen.insert(UInt64(st.st_ino)).inserted else { return }
            }
            usage.inodes += 1
            usage.bytes += try unshared() ?? UInt64(st.st_blocks) * 512
        }

        mutating func walk(_ fd: Int32, path: String) throws {
            for name in try DirectoryEntries.names(fd, path: path) {
                let child = path + "/" + name
                guard let st = try DirectoryEntries.stat(fd, name, path: child) else { continue }
                let unsharedOnly = unsharedOnly
                try count(st) {
                    guard unsharedOnly, st.st_mode & S_IFMT == S_IFREG else { return nil }
                    let f = try FileDescriptor(at: fd, name, flags: O_RDONLY | O_NOFOLLOW, fullPath: child)
                    var own: UInt64 = 0, shared: UInt64 = 0
                    let rc = cb_fiemap_bytes(f.raw, &own, &shared)
                    if rc < 0 { throw SyscallError("ioctl(FS_IOC_FIEMAP)", path: child, errno: -rc) }
                    return own
                }
                if DirectoryEntries.isDirectory(st) && st.st_dev == device {
                    let sub = try FileDescriptor.directory(name, at: fd, fullPath: child)
                    try walk(sub.raw, path: child)
                }
            }
        }
    }
}
