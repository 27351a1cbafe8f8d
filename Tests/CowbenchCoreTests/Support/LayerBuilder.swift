import CowbenchCore
import Glibc

/// One entry of a test layer, in overlayfs's on-disk format.
enum LayerEntry {
    case file(String, String, mode: mode_t = 0o644, uid: uid_t = 0, gid: gid_t = 0)
    case dir(String, mode: mode_t = 0o755, uid: uid_t = 0, gid: gid_t = 0)
    /// overlayfs's whiteout: a character device 0/0.
    case whiteout(String)
    /// A directory marked `trusted.overlay.opaque=y`.
    case opaque(String)
    case symlink(String, target: String)
    case hardlink(String, to: String)

    func write(into root: String) throws {
        switch self {
        case .file(let p, let text, let mode, let uid, let gid):
            try parent(root, p)
            try FileSystem.write(text, to: root + "/" + p, mode: mode)
            chown(root + "/" + p, uid, gid) // before chmod: chown clears set-id bits
            chmod(root + "/" + p, mode)
        case .dir(let p, let mode, let uid, let gid):
            try FileSystem.createDirectories(root + "/" + p)
            chown(root + "/" + p, uid, gid)
            chmod(root + "/" + p, mode)
        case .whiteout(let p):
            try parent(root, p)
            try FileSystem.makeWhiteout(root + "/" + p)
        case .opaque(let p):
            try FileSystem.createDirectories(root + "/" + p)
            try FileSystem.setxattr(root + "/" + p, "trusted.overlay.opaque", Array("y".utf8))
        case .symlink(let p, let target):
            try parent(root, p)
            guard Glibc.symlink(target, root + "/" + p) == 0 else { throw SyscallError("symlink", path: p) }
        case .hardlink(let p, let to):
            try parent(root, p)
            guard Glibc.link(root + "/" + to, root + "/" + p) == 0 else { throw SyscallError("link", path: p) }
        }
    }

    private func parent(_ root: String, _ p: String) throws {
        try FileSystem.createDirectories(Path.parent(root + "/" + p))
    }
}
