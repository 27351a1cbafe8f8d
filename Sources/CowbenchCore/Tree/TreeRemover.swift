import Glibc

/// `rm -rf` that never leaves the filesystem it started on.
///
/// cowbench removes only its own trees, but an instance directory may still
/// hold a mount (a merged overlay that failed to unmount). Descending into it
/// would delete through the mount into image layers, so a directory on another
/// device stops the removal with an error that names it.
public enum TreeRemover {
    /// Removes `path` and everything below it. A missing path is not an error.
    public static func remove(_ path: String) throws {
        guard let st = try DirectoryEntries.stat(AT_FDCWD, path, path: path) else { return }
        let parent = try FileDescriptor.directory(Path.parent(path))
        try remove(name: Path.base(path), in: parent.raw, path: path, st: st, device: st.st_dev)
    }

    /// Removes every entry inside the directory at `path`, keeping the directory.
    public static func removeContents(_ path: String) throws {
        let dir = try FileDescriptor.directory(path)
        var st = Glibc.stat()
        try retrying("fstat", path: path) { fstat(dir.raw, &st) }
        try removeContents(of: dir.raw, path: path, device: st.st_dev)
    }

    static func remove(name: String, in parentFd: Int32, path: String, st: stat, device: dev_t) throws {
        if DirectoryEntries.isDirectory(st) {
            guard st.st_dev == device else {
                throw SyscallError("unlinkat", path: path, errno: EXDEV,
                                   hint: "another filesystem is mounted here; unmount it first")
            }
            let dir = try FileDescriptor.directory(name, at: parentFd, fullPath: path)
            try removeContents(of: dir.raw, path: path, device: device)
            try retrying("rmdir", path: path) { unlinkat(parentFd, name, AT_REMOVEDIR) }
        } else {
            try retrying("unlink", path: path) { unlinkat(parentFd, name, 0) }
        }
    }

    static func removeContents(of fd: Int32, path: String, device: dev_t) throws {
        for name in try DirectoryEntries.names(fd, path: path) {
            let child = path + "/" + name
            guard let st = try DirectoryEntries.stat(fd, name, path: child) else { continue }
            try remove(name: name, in: fd, path: child, st: st, device: device)
        }
    }
}
