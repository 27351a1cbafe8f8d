import Glibc

/// A daemon cowbench started that serves one mount point (fuse-overlayfs).
/// While cowbench lives the daemon is its child; after a kill -9 it is an
/// orphan that only its command line names. It is found by that line, whose last argument is the mount point: a path under
/// cowbench's own state directory, so no other process can match.
public enum DaemonProcess {
    /// Processes running `program` whose last argument is `mountPoint`.
    public static func find(program: String, mountPoint: String) -> [pid_t] {
        guard let names = try? FileSystem.list("/proc") else { return [] }
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), let argv = arguments(pid), let first = argv.first, let last = argv.last else { return nil }
            return Path.base(first) == program && last == mountPoint && !isGone(pid) ? pid : nil
        }
    }

    /// Processes running `program` whose mount point lies under `prefix`
    /// (a state directory): what a host would still see of cowbench's.
    public static func running(program: String, under prefix: String) -> [pid_t] {
        guard let names = try? FileSystem.list("/proc") else { return [] }
        return names.compactMap { name -> pid_t? in
            guard let pid = pid_t(name), let argv = arguments(pid), let first = argv.first, let last = argv.last else { return nil }
            return Path.base(first) == program && last.hasPrefix(prefix + "/") && !isGone(pid) ? pid : nil
        }
    }

    static func arguments(_ pid: pid_t) -> [String]? {
        guard let raw = try? FileSystem.readPrefix("/proc/\(pid)/cmdline", bytes: 1 << 16), !raw.isEmpty else { return nil }
        return raw.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Gone, or a zombie waiting for its parent: either way it serves nothing.
    public static func isGone(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { return true } // our own child: reaped now
        guard let stat = try? FileSystem.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].dropFirst().first
        return state == "Z" || state == "X"
    }

    /// Waits up to `grace` seconds for `pid` to exit by itself (after its
    /// mount went), then SIGTERM, then SIGKILL. Never blocks longer than
    /// about `grace` + 2 s. Returns how it ended.
    @discardableResult
    public static func stop(_ pid: pid_t, grace: Double) -> String {
        func wait(_ seconds: Double) -> Bool {
            for _ in 0..<max(1, Int(seconds * 500)) {
                if isGone(pid) { return true }
                usleep(2_000)
            }
            return isGone(pid)
        }
        if wait(grace) { return "exited" }
        kill(pid, SIGTERM)
        kill(pid, SIGCONT) // a stopped daemon would hold SIGTERM pending for ever
        if wait(1) { return "stopped by SIGTERM" }
        kill(pid, SIGKILL)
        _ = wait(1)
        return "killed"
    }
}
