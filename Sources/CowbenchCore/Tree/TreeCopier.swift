import CShim
import Glibc

/// Copies a directory tree with everything a rootfs needs: modes, owners,
/// timestamps, symlinks, hardlinks, xattrs and device nodes. File data moves
/// with copy_file_range(2), so the kernel does the copy (and on btrfs or XFS
/// it may share extents instead; `CopyDriver.copyIsReflink` says so).
///
/// In `.applyLayer` mode the source is an image layer in overlayfs's own
/// format and its deletions are honoured: a whiteout (character device 0/0)
/// deletes the entry below it, and a directory with `trusted.overlay.opaque=y`
/// hides everything that was below it. overlayfs's private xattrs are not
/// carried into the result. This is how btrfs and copy flatten an image.
public struct TreeCopier {
    public enum Mode: Sendable { case copy, applyLayer }

    public static func copyContents(of source: String, into destination: String) throws {
        var c = TreeCopier(mode: .copy)
        try c.run(source, destination)
    }

    /// As `copyContents`, but every file's data is cloned with FICLONE:
    /// the copy shares the source's extents until either is written. Fails
    /// (EOPNOTSUPP, EXDEV) rather than copy where the filesystem cannot clone.
    public static func cloneContents(of source: String, into destination: String) throws {
        var c = TreeCopier(mode: .copy)
        c.clone = true
        try c.run(source, destination)
    }

    public static func applyLayer(_ layer: String, onto target: String) throws {
        var c = TreeCopier(mode: .applyLayer)
        try c.run(layer, target)
    }

    static let opaqueXattr = "trusted.overlay.opaque"

    private let mode: Mode
    private var clone = false
    /// (device, inode) of a multiply-linked source file -> its copy's path.
    private var links: [Pair: String] = [:]
    private var buffer: [UInt8] = []

    private struct Pair: Hashable { let dev: UInt64, ino: UInt64 }

    private init(mode: Mode) { self.mode = mode }

    private mutating func run(_ source: String, _ destination: String) throws {
        let src = try FileDescriptor.directory(source)
        let dst = try FileDescriptor.directory(destination)
        try copyDirectory(src.raw, source, dst.raw, destination)
        var st = Glibc.stat()
        try retrying("fstat", path: source) { fstat(src.raw, &st) }
        if mode == .copy { try applyMetadata(st, fd: dst.raw, path: destination, sourceFd: src.raw, sourcePath: source) }
    }

    private mutating func copyDirectory(_ srcFd: Int32, _ srcPath: String, _ dstFd: Int32, _ dstPath: String) throws {
        for name in try DirectoryEntries.names(srcFd, path: srcPath).sorted() {
            try StopRequest.check("copying \(srcPath)")
            let from = srcPath + "/" + name, to = dstPath + "/" + name
            guard let st = try DirectoryEntries.stat(srcFd, name, path: from) else { continue }
            if mode == .applyLayer {
                if DirectoryEntries.isWhiteout(st) {
                    if let old = try DirectoryEntries.stat(dstFd, name, path: to) {
                        try TreeRemover.remove(name: name, in: dstFd, path: to, st: old, device: old.st_dev)
                    }
                    continue
                }
                try clearWayFor(st, name: name, srcFd: srcFd, from: from, dstFd: dstFd, to: to)
            }
            try copyEntry(st, name: name, srcFd: srcFd, from: from, dstFd: dstFd, to: to)
        }
    }

    /// Makes room for a layer's entry: a non-directory, or a directory meeting
    /// a non-directory, replaces what is there; an opaque directory empties it.
    private func clearWayFor(_ st: stat, name: String, srcFd: Int32, from: String, dstFd: Int32, to: String) throws {
        guard let old = try DirectoryEntries.stat(dstFd, name, path: to) else { return }
        if DirectoryEntries.isDirectory(st) && DirectoryEntries.isDirectory(old) {
            if Xattrs.get(path: from, Self.opaqueXattr) == Array("y".utf8) {
                try TreeRemover.removeContents(to)
            }
            return
        }
        try TreeRemover.remove(name: name, in: dstFd, path: to, st: old, device: old.st_dev)
    }

    private mutating func copyEntry(_ st: stat, name: String, srcFd: Int32, from: String, dstFd: Int32, to: String) throws {
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            if try DirectoryEntries.stat(dstFd, name, path: to) == nil {
                try retrying("mkdir", path: to) { mkdirat(dstFd, name, 0o700) }
            }
            let s = try FileDescriptor.directory(name, at: srcFd, fullPath: from)
            let d = try FileDescriptor.directory(name, at: dstFd, fullPath: to)
            try copyDirectory(s.raw, from, d.raw, to)
            try applyMetadata(st, fd: d.raw, path: to, sourceFd: s.raw, sourcePath: from)
        case S_IFREG:
            let key = Pair(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            if st.st_nlink > 1, let first = links[key] {
                try retrying("linkat", path: to) { linkat(AT_FDCWD, first, dstFd, name, 0) }
                return
            }
            let s = try FileDescriptor(at: srcFd, name, flags: O_RDONLY | O_NOFOLLOW, fullPath: from)
            let d = try FileDescriptor(at: dstFd, name, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, fullPath: to)
            try copyData(s.raw, d.raw, size: Int(st.st_size), path: to)
            try applyMetadata(st, fd: d.raw, path: to, sourceFd: s.raw, sourcePath: from)
            if st.st_nlink > 1 { links[key] = to }
        case S_IFLNK:
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = try retrying("readlink", path: from) { readlinkat(srcFd, name, &buf, buf.count - 1) }
            buf[n] = 0
            try retrying("symlink", path: to) { symlinkat(buf, dstFd, name) }
            try applyLinkMetadata(st, dstFd: dstFd, name: name, path: to, sourcePath: from)
        default:
            try retrying("mknod", path: to) { mknodat(dstFd, name, st.st_mode & ~S_IFMT | (st.st_mode & S_IFMT), st.st_rdev) }
            try applyLinkMetadata(st, dstFd: dstFd, name: name, path: to, sourcePath: from)
            try retrying("chmod", path: to) { fchmodat(dstFd, name, st.st_mode & 0o7777, 0) }
        }
    }

    private mutating func copyData(_ src: Int32, _ dst: Int32, size: Int, path: String) throws {
        if clone {
            if cb_ficlone(dst, src) != 0 {
                throw SyscallError("ioctl(FICLONE)", path: path, hint: "the reflink driver needs a filesystem that clones extents (xfs with reflink=1, or btrfs)")
            }
            return
        }
        try FileSystem.copyData(from: src, to: dst, size: size, path: path, buffer: &buffer)
    }

    /// Owner first (chown clears set-id bits), then mode, xattrs, and times last.
    private func applyMetadata(_ st: stat, fd: Int32, path: String, sourceFd: Int32, sourcePath: String) throws {
        try retrying("fchown", path: path) { fchown(fd, st.st_uid, st.st_gid) }
        try retrying("fchmod", path: path) { fchmod(fd, st.st_mode & 0o7777) }
        try Xattrs.copy(from: sourceFd, to: fd, path: path, skipOverlay: mode == .applyLayer)
        var times = [st.st_atim, st.st_mtim]
        try retrying("futimens", path: path) { futimens(fd, &times) }
    }

    private func applyLinkMetadata(_ st: stat, dstFd: Int32, name: String, path: String, sourcePath: String) throws {
        try retrying("lchown", path: path) { fchownat(dstFd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) }
        try Xattrs.copy(fromPath: sourcePath, toPath: path, skipOverlay: mode == .applyLayer)
        var times = [st.st_atim, st.st_mtim]
        try retrying("utimensat", path: path) { utimensat(dstFd, name, &times, AT_SYMLINK_NOFOLLOW) }
    }
}
