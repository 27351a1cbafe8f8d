import Glibc

/// What a runtime does to an instance's rootfs for a user-namespace remap
/// without idmapped mounts (containerd#4734, #6310): every entry is
/// lchown'ed to its id plus `shift`, from the host, before the process
/// starts. chown(2) clears set-user-ID and set-group-ID bits, so they are
/// put back, as the runtimes do.
public enum RemapChown {
    /// Entries changed. /proc, /sys and /dev stay as they are: the box
    /// mounts its own there.
    @discardableResult
    public static func apply(_ rootfs: String, shift: UInt32) throws -> Int {
        var changed = 0
        func walk(_ dir: FileDescriptor, _ path: String, top: Bool) throws {
            for name in try DirectoryEntries.names(dir.raw, path: path) {
                let full = path + "/" + name
                if top && ["proc", "sys", "dev"].contains(name) { continue }
                guard let st = try DirectoryEntries.stat(dir.raw, name, path: full) else { continue }
                try retrying("lchown", path: full) {
                    fchownat(dir.raw, name, st.st_uid &+ shift, st.st_gid &+ shift, AT_SYMLINK_NOFOLLOW)
                }
                changed += 1
                let kind = st.st_mode & S_IFMT
                if kind != S_IFLNK, st.st_mode & (S_ISUID | S_ISGID) != 0 {
                    try retrying("chmod", path: full) { fchmodat(dir.raw, name, st.st_mode & 0o7777, 0) }
                }
                if kind == S_IFDIR {
                    try walk(try FileDescriptor.directory(name, at: dir.raw, fullPath: full), full, top: false)
                }
            }
        }
        let root = try FileDescriptor.directory(rootfs)
        try walk(root, rootfs, top: true)
        return changed
    }
}
