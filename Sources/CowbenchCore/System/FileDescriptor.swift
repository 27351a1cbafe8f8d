import Glibc

/// An owned file descriptor, opened O_CLOEXEC, closed on deinit.
///
/// Every descriptor cowbench opens is close-on-exec so that the processes it
/// starts inside instances never inherit (and pin) a mount or loop device.
public final class FileDescriptor {
    public let raw: Int32
    public let path: String

    public init(raw: Int32, path: String) {
        self.raw = raw
        self.path = path
    }

    /// openat(2) relative to `dir` (AT_FDCWD for none). `fullPath` is what
    /// errors name when `path` is relative to `dir`.
    public convenience init(at dir: Int32 = AT_FDCWD, _ path: String, flags: Int32, mode: mode_t = 0,
                            fullPath: String? = nil) throws {
        let fd = try retrying("open", path: fullPath ?? path) { Glibc.openat(dir, path, flags | O_CLOEXEC, mode) }
        self.init(raw: fd, path: fullPath ?? path)
    }

    /// Opens a directory for use as an `*at()` anchor.
    public static func directory(_ path: String, at dir: Int32 = AT_FDCWD, fullPath: String? = nil) throws -> FileDescriptor {
        try FileDescriptor(at: dir, path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW, fullPath: fullPath)
    }

    deinit { Glibc.close(raw) }
}
