import CShim
import Foundation
import Glibc

/// Runs a host tool (mkfs, for instance) for set-up work that is not measured,
/// and starts the daemons that serve FUSE drivers.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let argv: [String]
        public let status: Int32
        public let output: String
        public var description: String {
            "\(argv.joined(separator: " ")) exited with status \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }

    /// Runs `argv` with stdin from /dev/null and returns stdout and stderr
    /// together, once `argv[0]` has exited. A daemon it forks may hold the
    /// pipe open for ever (fuse-overlayfs does), so output is read until the
    /// process exits, never until end of file.
    @discardableResult
    public static func run(_ argv: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        guard cb_pipe_cloexec(&fds) == 0 else { throw SyscallError("pipe2", path: argv[0]) }
        defer { close(fds[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        cb_spawn_closefrom(&actions, 3)
        var pid: pid_t = 0
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cargs, environ)
        close(fds[1])
        guard rc == 0 else {
            throw Failure(argv: argv, status: 127, output: "cannot start \(argv[0]): posix_spawn: \(Errno.name(rc))")
        }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        var data: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        var open = true
        func drain() {
            while open {
                let n = read(fds[0], &buf, buf.count)
                if n > 0 { data += buf[0..<n] } else if n < 0 && errno == EINTR { continue } else {
                    if n == 0 { open = false }
                    return
                }
            }
        }
        var status: Int32 = 0
        while true {
            let w = waitpid(pid, &status, WNOHANG)
            if w == pid { break }
            if w < 0 && errno != EINTR { throw SyscallError("waitpid", path: argv[0]) }
            if open {
                var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, 20) > 0 { drain() }
            } else {
                usleep(2_000)
            }
        }
        drain()
        let out = String(decoding: data, as: UTF8.self)
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exit == 0 else { throw Failure(argv: argv, status: exit, output: out) }
        return out
    }

    /// Starts `argv` in the background with stdin from /dev/null and stdout
    /// and stderr appended to `log`, and returns its pid: for a daemon that
    /// stays in the foreground (`fuse-overlayfs -f`), so cowbench knows it
    /// without looking for it and reaps it itself.
    public static func spawn(_ argv: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else: a daemon outlives a kill -9 of cowbench, and any
        // descriptor it held (cowbench's parent's pipe) would stay open.
        cb_spawn_closefrom(&actions, 3)
        var pid: pid_t = 0
        let cargs = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cargs, environ)
        guard rc == 0 else { throw SyscallError("posix_spawn", path: argv[0], errno: rc) }
        return pid
    }

    /// The first executable called `name` in the usual system directories.
    public static func find(_ name: String) -> String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return dirs.map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
    }
}
