import CShim
import Glibc

/// Space and inode figures from statfs(2), in bytes and inodes.
public struct FilesystemStats: Sendable, Equatable {
    public let type: UInt
    public let blockSize: UInt64
    public let totalBytes: UInt64
    public let freeBytes: UInt64
    public let availableBytes: UInt64
    public let totalInodes: UInt64
    public let freeInodes: UInt64

    public init(type: UInt, blockSize: UInt64, totalBytes: UInt64, freeBytes: UInt64, availableBytes: UInt64,
                totalInodes: UInt64, freeInodes: UInt64) {
        self.type = type
        self.blockSize = blockSize
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.availableBytes = availableBytes
        self.totalInodes = totalInodes
        self.freeInodes = freeInodes
    }

    public var usedBytes: UInt64 { totalBytes &- freeBytes }
    public var usedInodes: UInt64 { totalInodes &- freeInodes }

    public static let btrfsMagic: UInt = 0x9123_683E
    public static let ext4Magic: UInt = 0xEF53
    public static let overlayMagic: UInt = 0x794C_7630
    public static let tmpfsMagic: UInt = 0x0102_1994
    public static let xfsMagic: UInt = 0x5846_5342
    public static let fuseMagic: UInt = 0x6573_5546

    /// A short name for the filesystem type, as `findmnt` would print it.
    public var typeName: String {
        switch type {
        case Self.btrfsMagic: "btrfs"
        case Self.ext4Magic: "ext4"
        case Self.overlayMagic: "overlay"
        case Self.tmpfsMagic: "tmpfs"
        case Self.xfsMagic: "xfs"
        case Self.fuseMagic: "fuse"
        default: "0x" + String(type, radix: 16)
        }
    }
}

/// Typed, EINTR-safe wrappers for the path-level calls cowbench makes.
/// Every failure throws a `SyscallError` naming the call and the path.
public enum FileSystem {
    public static func lstat(_ path: String) throws -> stat {
        var st = stat()
        try retrying("lstat", path: path) { Glibc.lstat(path, &st) }
        return st
    }

    /// Whether anything (even a dangling symlink) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return Glibc.lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return fstatat(AT_FDCWD, path, &st, 0) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func mkdir(_ path: String, mode: mode_t = 0o755) throws {
        try retrying("mkdir", path: path) { Glibc.mkdir(path, mode) }
    }

    /// mkdir -p: creates missing parents; an existing directory is fine.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if isDirectory(path) { return }
        let parent = Path.parent(path)
        if parent != path { try createDirectories(parent, mode: mode) }
        if Glibc.mkdir(path, mode) != 0 && Glibc.errno != EEXIST {
            throw SyscallError("mkdir", path: path)
        }
    }

    public static func statfs(_ path: String) throws -> FilesystemStats {
        var s = CShim.statfs()
        try retrying("statfs", path: path) { callStatfs(path, &s) }
        let bsize = UInt64(s.f_bsize)
        let type = UInt(bitPattern: Int(s.f_type))
        let total = UInt64(s.f_blocks) * bsize
        let free = UInt64(s.f_bfree) * bsize
        let avail = UInt64(s.f_bavail) * bsize
        return FilesystemStats(
            type: type, blockSize: bsize, totalBytes: total, freeBytes: free, availableBytes: avail,
            totalInodes: UInt64(s.f_files), freeInodes: UInt64(s.f_ffree))
    }

    public static func write(_ contents: String, to path: String, mode: mode_t = 0o644) throws {
        try write(Array(contents.utf8), to: path, mode: mode)
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let fd = try FileDescriptor(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        try writeAll(bytes, to: fd)
    }

    /// Writes every byte, retrying short writes and EINTR.
    public static func writeAll(_ bytes: [UInt8], to fd: FileDescriptor) throws {
        try bytes.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                off += try retrying("write", path: fd.path) {
                    Glibc.write(fd.raw, buf.baseAddress! + off, buf.count - off)
                }
            }
        }
    }

    public static func read(_ path: String) throws -> String {
        let fd = try FileDescriptor(path, flags: O_RDONLY)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try retrying("read", path: path) { Glibc.read(fd.raw, &buf, buf.count) }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Flushes the filesystem that holds `path`.
    public static func syncfs(_ path: String) throws {
        let fd = try FileDescriptor.directory(path)
        try retrying("syncfs", path: path) { cb_syncfs(fd.raw) }
    }

    /// At most the first `bytes` bytes of a file.
    public static func readPrefix(_ path: String, bytes: Int) throws -> [UInt8] {
        let fd = try FileDescriptor(path, flags: O_RDONLY)
        var buf = [UInt8](repeating: 0, count: bytes)
        let n = try retrying("read", path: path) { Glibc.read(fd.raw, &buf, bytes) }
        return Array(buf[0..<n])
    }

    /// Copies one regular file's data (see `copyData`).
    public static func copyFile(_ source: String, to destination: String, mode: mode_t) throws {
        let src = try FileDescriptor(source, flags: O_RDONLY)
        let dst = try FileDescriptor(destination, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        var buffer: [UInt8] = []
        try copyData(from: src.raw, to: dst.raw, size: Int.max, path: destination, buffer: &buffer)
        try retrying("fchmod", path: destination) { fchmod(dst.raw, mode) }
    }

    /// Up to `size` bytes (to end of file) with copy_file_range(2), falling
    /// back to read and write where the kernel refuses it: across
    /// filesystems (EXDEV, as when the state dir is its own partition, a
    /// tmpfs or a btrfs), or where the filesystem has no support for it.
    /// `buffer` is kept by the caller so a tree copy allocates it once.
    public static func copyData(from src: Int32, to dst: Int32, size: Int, path: String, buffer: inout [UInt8]) throws {
        var remaining = size
        while remaining > 0 {
            let n = cb_copy_file_range(src, dst, min(remaining, 1 << 30))
            if n > 0 { remaining -= n; continue }
            if n == 0 { return }
            switch Glibc.errno {
            case EINTR: continue
            case EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: return try copyByReading(src, dst, path: path, buffer: &buffer)
            default: throw SyscallError("copy_file_range", path: path)
            }
        }
    }

    private static func copyByReading(_ src: Int32, _ dst: Int32, path: String, buffer: inout [UInt8]) throws {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 1 << 20) }
        while true {
            let n = try retrying("read", path: path) { Glibc.read(src, &buffer, buffer.count) }
            if n == 0 { return }
            var off = 0
            while off < n {
                off += try buffer.withUnsafeBytes { b in
                    try retrying("write", path: path) { Glibc.write(dst, b.baseAddress! + off, n - off) }
                }
            }
        }
    }

    /// Entry names in a directory, without `.` and `..`, sorted.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SyscallError("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The target a symbolic link names, as written.
    public static func readLink(_ path: String) throws -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try retrying("readlink", path: path) { readlink(path, &buf, buf.count - 1) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func rename(_ from: String, _ to: String) throws {
        try retrying("rename", path: from) { Glibc.rename(from, to) }
    }

    public static func unlink(_ path: String) throws {
        try retrying("unlink", path: path) { Glibc.unlink(path) }
    }

    public static func rmdir(_ path: String) throws {
        try retrying("rmdir", path: path) { Glibc.rmdir(path) }
    }

    public static func getxattr(_ path: String, _ name: String) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = lgetxattr(path, name, &buf, buf.count)
        return n < 0 ? nil : Array(buf[0..<n])
    }

    public static func setxattr(_ path: String, _ name: String, _ value: [UInt8]) throws {
        try retrying("lsetxattr", path: path) { lsetxattr(path, name, value, value.count, 0) }
    }

    public static func removexattr(_ path: String, _ name: String) throws {
        try retrying("lremovexattr", path: path) { lremovexattr(path, name) }
    }

    /// A character device 0/0: overlayfs's whiteout, the "c 0,0" in `ls -l`.
    public static func makeWhiteout(_ path: String) throws {
        try retrying("mknod", path: path) { Glibc.mknod(path, S_IFCHR | 0o000, 0) }
    }
}

// A top-level function, because inside FileSystem `statfs` names the method.
private func callStatfs(_ path: String, _ buf: inout CShim.statfs) -> Int32 { statfs(path, &buf) }

/// String path helpers; cowbench passes paths as Strings to the kernel as-is.
public enum Path {
    /// `path` with every symbolic link and `.`/`..` resolved: realpath(3)
    /// of its deepest existing ancestor, then the components that do not
    /// exist yet. cowbench records and compares only resolved paths, so a
    /// `/var/lib` that is a symlink to another filesystem still matches the
    /// mount table and the loop devices' backing files.
    /// `path` itself if it exists, else its nearest existing ancestor.
    public static func nearestExisting(_ path: String) -> String {
        var p = path
        while !FileSystem.exists(p) && p != "/" && !p.isEmpty { p = parent(p) }
        return p.isEmpty ? "/" : p
    }

    public static func resolved(_ path: String) -> String {
        var head = path, tail: [String] = []
        while true {
            if let real = Glibc.realpath(head, nil) {
                defer { free(real) }
                return join([String(cString: real)] + tail.reversed())
            }
            let base = Path.base(head), parent = Path.parent(head)
            if parent == head || base.isEmpty { return path }
            if base != "." { tail.append(base) }
            head = parent
        }
    }

    public static func join(_ parts: String...) -> String { join(parts) }

    public static func join(_ parts: [String]) -> String {
        var out = ""
        for p in parts where !p.isEmpty {
            if out.isEmpty { out = p; continue }
            out = out.hasSuffix("/") ? out + p.drop(while: { $0 == "/" }) : out + "/" + p.drop(while: { $0 == "/" })
        }
        return out
    }

    public static func parent(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    public static func base(_ path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: i)...])
    }
}
