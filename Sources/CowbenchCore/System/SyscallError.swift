import Glibc

/// A failed system call, with the call, the path it acted on and the errno.
///
/// Its description reads like `mount(/var/lib/cowbench/x/merged): No such file
/// or directory (ENOENT)`, so a user sees what failed and where.
public struct SyscallError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let path: String?
    public let errno: Int32
    public let hint: String?

    public init(_ call: String, path: String? = nil, errno: Int32 = Glibc.errno, hint: String? = nil) {
        self.call = call
        self.path = path
        self.errno = errno
        self.hint = hint
    }

    /// The symbolic name, for example `ENOSPC`.
    public var errnoName: String { Errno.name(errno) }

    public var description: String {
        let target = path.map { "(\($0))" } ?? ""
        let base = "\(call)\(target): \(String(cString: strerror(errno))) (\(errnoName))"
        return hint.map { "\(base); \($0)" } ?? base
    }
}

/// Symbolic errno names; `strerror` alone loses the name people search for.
public enum Errno {
    private static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO",
        ENXIO: "ENXIO", E2BIG: "E2BIG", ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY",
        EEXIST: "EEXIST", EXDEV: "EXDEV", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
        EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOTTY: "ENOTTY", EFBIG: "EFBIG",
        ENOSPC: "ENOSPC", ESPIPE: "ESPIPE", EROFS: "EROFS", EMLINK: "EMLINK", EPIPE: "EPIPE",
        ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY",
        ELOOP: "ELOOP", ENODATA: "ENODATA", EOPNOTSUPP: "EOPNOTSUPP", EDQUOT: "EDQUOT",
        ESTALE: "ESTALE", ETXTBSY: "ETXTBSY", EOVERFLOW: "EOVERFLOW",
    ]

    public static func name(_ code: Int32) -> String { names[code] ?? "errno \(code)" }
}

/// Retries a call that failed with EINTR; throws a SyscallError otherwise.
@inline(__always)
@discardableResult
func retrying<T: BinaryInteger>(_ call: String, path: String? = nil, _ body: () -> T) throws -> T {
    while true {
        let r = body()
        if r >= 0 { return r }
        if Glibc.errno == EINTR { continue }
        throw SyscallError(call, path: path)
    }
}
