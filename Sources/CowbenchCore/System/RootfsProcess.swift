import CShim
import Glibc

/// A real process started inside a rootfs the way the simplest container
/// runtime would: clone(CLONE_VM | CLONE_VFORK), unshare(CLONE_NEWNS), chroot,
/// chdir("/"), execve.
/// The binary is the rootfs's own (for example its busybox `/bin/sh`).
public enum RootfsProcess {
    public static let defaultEnvironment = ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/root"]

    /// Starts `argv` in `rootfs` and returns once exec has happened.
    /// Descriptors of -1 leave the child's stdio as this process's.
    public static func start(rootfs: String, argv: [String], environment: [String] = defaultEnvironment,
                             newMountNamespace: Bool = true,
                             stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1) throws -> pid_t {
        var pid: pid_t = 0
        var stage: Int32 = 0
        let err = withCStrings(argv) { cargv in
            withCStrings(environment) { cenv in
                cb_spawn_chroot(rootfs, cargv, cenv, newMountNamespace ? 1 : 0, stdin, stdout, stderr, &pid, &stage)
            }
        }
        if err != 0 {
            let step = ["clone", "clone", "unshare(CLONE_NEWNS)", "chroot", "chdir", "dup2", "execve(\(argv[0]))"]
            let path = stage == CB_STAGE_EXEC.rawValue ? rootfs + argv[0] : rootfs
            throw SyscallError(step[Int(min(max(stage, 0), 6))], path: path, errno: err)
        }
        return pid
    }

    /// Waits for `pid`; returns its exit status, or 128 + signal if it was killed.
    public static func wait(_ pid: pid_t) throws -> Int32 {
        var status: Int32 = 0
        try retrying("waitpid", path: nil) { waitpid(pid, &status, 0) }
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }

    /// Runs `argv` to completion with stdout captured; returns status and output.
    public static func run(rootfs: String, argv: [String]) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        try retrying("pipe2", path: nil) { cb_pipe_cloexec(&fds) }
        let null = try FileDescriptor("/dev/null", flags: O_RDWR)
        let pid: pid_t
        do {
            pid = try start(rootfs: rootfs, argv: argv, stdin: null.raw, stdout: fds[1])
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(fds[0])
        return (try wait(pid), String(decoding: out, as: UTF8.self))
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let ptrs = strings.map { strdup($0) } + [nil]
        defer { ptrs.forEach { free($0) } }
        return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
