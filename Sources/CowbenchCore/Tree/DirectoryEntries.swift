import Glibc

/// fd-relative directory helpers shared by the tree walkers.
enum DirectoryEntries {
    /// Names in the directory open at `fd`, without `.` and `..`.
    static func names(_ fd: Int32, path: String) throws -> [String] {
        let dupFd = try retrying("dup", path: path) { Glibc.fcntl(fd, F_DUPFD_CLOEXEC, 0) }
        guard let dir = fdopendir(dupFd) else {
            let e = Glibc.errno
            Glibc.close(dupFd)
            throw SyscallError("fdopendir", path: path, errno: e)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// fstatat(2) without following symlinks; nil when the entry is absent.
    static func stat(_ dirFd: Int32, _ name: String, path: String) throws -> stat? {
        var st = Glibc.stat()
        while fstatat(dirFd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
            if Glibc.errno == EINTR { continue }
            if Glibc.errno == ENOENT { return nil }
            throw SyscallError("fstatat", path: path)
        }
        return st
    }

    static func isDirectory(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }

    /// overlayfs's whiteout: a character device with device number 0/0.
    static func isWhiteout(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 }
}
