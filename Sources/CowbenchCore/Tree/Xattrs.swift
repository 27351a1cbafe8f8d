import CShim
import Glibc

/// Extended-attribute copying, by descriptor for files and directories and
/// by path (l*xattr) for symlinks and device nodes, which cannot be opened.
enum Xattrs {
    static func get(path: String, _ name: String) -> [UInt8]? {
        let n = lgetxattr(path, name, nil, 0)
        guard n >= 0 else { return nil }
        var buf = [UInt8](repeating: 0, count: max(n, 1))
        let m = lgetxattr(path, name, &buf, buf.count)
        return m < 0 ? nil : Array(buf[0..<m])
    }

    static func copy(from src: Int32, to dst: Int32, path: String, skipOverlay: Bool) throws {
        for name in try list { flistxattr(src, $0, $1) } where keep(name, skipOverlay) {
            let n = fgetxattr(src, name, nil, 0)
            guard n >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(n, 1))
            let m = fgetxattr(src, name, &value, value.count)
            guard m >= 0 else { continue }
            try retrying("fsetxattr", path: path) { fsetxattr(dst, name, value, m, 0) }
        }
    }

    static func copy(fromPath src: String, toPath dst: String, skipOverlay: Bool) throws {
        for name in try list { llistxattr(src, $0, $1) } where keep(name, skipOverlay) {
            guard let value = get(path: src, name) else { continue }
            // user.* xattrs are not allowed on symlinks; the kernel says EPERM.
            if lsetxattr(dst, name, value, value.count, 0) != 0 && Glibc.errno != EPERM {
                throw SyscallError("lsetxattr", path: dst)
            }
        }
    }

    /// The names of the extended attributes of `path` itself (not following a symlink).
    static func names(path: String) throws -> [String] {
        try list { llistxattr(path, $0, $1) }
    }

    private static func keep(_ name: String, _ skipOverlay: Bool) -> Bool {
        !(skipOverlay && name.hasPrefix("trusted.overlay."))
    }

    private static func list(_ call: (UnsafeMutablePointer<CChar>?, Int) -> Int) throws -> [String] {
        let size = call(nil, 0)
        if size <= 0 { return [] }
        var buf = [CChar](repeating: 0, count: size)
        let n = call(&buf, size)
        if n <= 0 { return [] }
        return buf[0..<n].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }
}
