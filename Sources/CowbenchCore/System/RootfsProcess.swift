import CShim
import Glibc

/// How an instance's process is kept in its box (see `cb_isolation`).
public enum Isolation: String, Sendable, CaseIterable {
    /// New mount, PID, IPC and UTS namespaces, private propagation,
    /// pivot_root onto a nodev,nosuid bind of the rootfs with the old root
    /// detached, a new session, descriptors 3 and up closed, every
    /// capability dropped and no_new_privs: at least a minimal container.
    case container
    /// unshare(CLONE_NEWNS) and chroot only, as root with every capability:
    /// an image can escape it. For measuring what the box costs.
    case chroot

    /// The `cb_isolation` value the C shim takes.
    public var cValue: Int32 { c }

    var c: Int32 {
        switch self {
        case .container: Int32(CB_ISOLATION_CONTAINER.rawValue)
        case .chroot: Int32(CB_ISOLATION_CHROOT.rawValue)
        }
    }
}

/// A real process started inside a rootfs the way a container runtime
/// would: clone(CLONE_VM | CLONE_VFORK) with new namespaces, pivot_root,
/// capabilities dropped, execve. The binary is the rootfs's own (for
/// example its busybox `/bin/sh`), so an image's code runs only in its box.
public enum RootfsProcess {
    public static let defaultEnvironment = ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOME=/root"]

    /// Starts `argv` in `rootfs` and returns once exec has happened.
    /// Descriptors of -1 leave the child's stdio as this process's.
    public static func start(rootfs: String, argv: [String], environment: [String] = defaultEnvironment,
                             isolation: Isolation = .container,
                             stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1) throws -> pid_t {
        try launch(rootfs: rootfs, argv: argv, environment: environment, isolation: isolation,
                   stdin: stdin, stdout: stdout, stderr: stderr).pid
    }

    /// As `start`, and also when the child called execve, in CLOCK_MONOTONIC
    /// seconds, as the child itself read the clock. With `cgroup` (an open
    /// cgroup.procs) the child joins that cgroup before anything else, and
    /// `cgroupJoin` is how many seconds of the start that write took.
    public static func launch(rootfs: String, argv: [String], environment: [String] = defaultEnvironment,
                              isolation: Isolation = .container, cgroup: FileDescriptor? = nil,
                              stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1) throws -> (pid: pid_t, execAt: Double, cgroupJoin: Double) {
        var pid: pid_t = 0
        var stage: Int32 = 0
        var execNs: UInt64 = 0
        var joinNs: UInt64 = 0
        let err = withCStrings(argv) { cargv in
            withCStrings(environment) { cenv in
                cb_spawn_instance(rootfs, cargv, cenv, isolation.c, cgroup?.raw ?? -1, stdin, stdout, stderr, &pid, &stage, &execNs, &joinNs)
            }
        }
        if err != 0 {
            let step = ["clone", "clone", "unshare(CLONE_NEWNS)", "chroot", "chdir", "dup2", "execve",
                        "mount(/, MS_REC | MS_PRIVATE)", "mount(MS_BIND, nodev, nosuid)", "pivot_root", "umount2(old root, MNT_DETACH)",
                        "close_range(3, ~0)", "capset (dropping every capability)", "prctl(PR_SET_NO_NEW_PRIVS)", "setsid", "write(cgroup.procs)"]
            let path = stage == CB_STAGE_EXEC.rawValue ? rootfs + argv[0] : stage == CB_STAGE_CGROUP.rawValue ? cgroup?.path ?? rootfs : rootfs
            let call = step[Int(min(max(stage, 0), Int32(step.count - 1)))]
            if stage == CB_STAGE_EXEC.rawValue && err == ENOENT {
                throw SyscallError(call, path: path, errno: err,
                                   hint: "the image has no \(argv[0]); this workload needs an image that ships it (busybox, or a synthetic image)")
            }
            throw SyscallError(call, path: path, errno: err)
        }
        return (pid, Double(execNs) / 1e9, Double(joinNs) / 1e9)
    }

    /// Waits for `pid`; returns its exit status, or 128 + signal if it was killed.
    public static func wait(_ pid: pid_t) throws -> Int32 {
        var status: Int32 = 0
        try retrying("waitpid", path: nil) { waitpid(pid, &status, 0) }
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }

    /// Runs `argv` to completion with stdout captured; returns status and output.
    public static func run(rootfs: String, argv: [String], isolation: Isolation = .container) throws -> (status: Int32, output: String) {
        var fds: [Int32] = [0, 0]
        try retrying("pipe2", path: nil) { cb_pipe_cloexec(&fds) }
        let null = try FileDescriptor("/dev/null", flags: O_RDWR)
        let pid: pid_t
        do {
            pid = try start(rootfs: rootfs, argv: argv, isolation: isolation, stdin: null.raw, stdout: fds[1])
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
