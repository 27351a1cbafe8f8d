import Foundation
import Glibc

/// mount(2)/umount2(2) with the retries cowbench needs, and a reader for
/// /proc/self/mountinfo so it can find the mounts under its own root.
public enum Mounts {
    public static func mount(source: String, target: String, type: String,
                             flags: UInt = 0, data: String? = nil) throws {
        let rc: Int32
        if let data {
            rc = data.withCString { Glibc.mount(source, target, type, flags, $0) }
        } else {
            rc = Glibc.mount(source, target, type, flags, nil)
        }
        if rc != 0 { throw SyscallError("mount", path: target) }
    }

    /// Unmounts `target`. EBUSY is retried with back-off, because a child
    /// being forked elsewhere in this process briefly holds copies of file
    /// descriptors; only after that does it fall back to a lazy detach, and it
    /// says so on stderr.
    public static func unmount(_ target: String, attempts: Int = 50) throws {
        var delay: UInt32 = 1_000
        for _ in 0..<attempts {
            if Glibc.umount2(target, 0) == 0 { return }
            let e = Glibc.errno
            if e == EINTR { continue }
            guard e == EBUSY else { throw SyscallError("umount2", path: target, errno: e) }
            usleep(delay)
            delay = min(delay * 2, 100_000)
        }
        if Glibc.umount2(target, Int32(MNT_DETACH)) == 0 {
            Diagnostics.warn("\(target) stayed busy; detached it lazily (MNT_DETACH)")
            return
        }
        throw SyscallError("umount2", path: target)
    }

    /// One line of /proc/self/mountinfo.
    public struct Entry: Sendable, Equatable {
        public let mountPoint: String
        public let fsType: String
        public let source: String
        public let options: String
    }

    public static func table() -> [Entry] {
        guard let text = try? FileSystem.read("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let halves = String(line).components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 6, right.count >= 3 else { return nil }
            return Entry(mountPoint: unescape(String(left[4])), fsType: String(right[0]),
                         source: unescape(String(right[1])), options: mergeOptions(String(left[5]), String(right[2])))
        }
    }

    /// Mounts at or below `root`, deepest first (the order to unmount them in).
    public static func mounts(under root: String) -> [Entry] {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        return table()
            .filter { $0.mountPoint == root || $0.mountPoint.hasPrefix(prefix) }
            .sorted { $0.mountPoint.count > $1.mountPoint.count }
    }

    /// mountinfo escapes space, tab, newline and backslash as octal.
    private static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = [UInt8]()
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v); i += 4
            } else {
                out.append(b[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Warnings go to stderr; results never do.
/// mountinfo's per-mount options, then the superblock's, without repeats
/// ("rw,relatime" and "rw,discard" give "rw,relatime,discard").
func mergeOptions(_ mount: String, _ superblock: String) -> String {
    var seen = Set<Substring>()
    return (mount.split(separator: ",") + superblock.split(separator: ",")).filter { seen.insert($0).inserted }.joined(separator: ",")
}

public enum Diagnostics {
    /// A line of information on stderr, kept apart from results on stdout.
    public static func note(_ message: String) {
        var line = "cowbench: \(message)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    public static func warn(_ message: String) {
        var line = "cowbench: warning: \(message)\n"
        line.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
