import CowbenchCore
import Glibc

/// A containerd of cowbench's own: Debian's `containerd`, with its root,
/// state, socket and config under one directory on the scratch filesystem,
/// so the snapshotters' roots are there too (btrfs needs its root on btrfs).
/// The directory and the daemon are journaled before they exist; the
/// journal's teardown (or `cleanup`) stops the daemon before the
/// filesystem goes, so nothing here stops it.
public final class ContainerdDaemon: Sendable {
    public static let program = "containerd"

    public let directory: String
    public let config: String
    public let socket: String
    public let pid: pid_t

    /// Starts containerd under `directory` and returns once its socket
    /// accepts connections. Fails with containerd's own log if it exits.
    public init(directory: String, journal: ResourceJournal) throws {
        guard let binary = Command.find(Self.program) else {
            throw SetupError("\(Self.program) is not installed; run scripts/setup.sh (Debian package containerd)")
        }
        self.directory = directory
        config = directory + "/config.toml"
        // containerd takes unix socket paths up to 104 bytes, and its ttrpc
        // socket is this one's path plus ".ttrpc"; a deep state directory would not fit.
        let inside = directory + "/c.sock"
        socket = (inside + ".ttrpc").utf8.count <= 104 ? inside : "/run/cowbench-containerd-\(Self.shortHash(directory)).sock"
        try journal.record(.directory(directory))
        try FileSystem.mkdir(directory, mode: 0o700)
        if socket != inside {
            try journal.record(.file(socket))
            try journal.record(.file(socket + ".ttrpc"))
        }
        try FileSystem.write(Self.configuration(directory: directory, socket: socket), to: config, mode: 0o600)
        try journal.record(.daemon(program: Self.program, mountPoint: config))
        let log = directory + "/containerd.log"
        pid = try Command.spawn([binary, "--config", config], log: log)
        try waitForSocket(log: log)
    }

    private func waitForSocket(log: String) throws {
        for _ in 0..<1_000 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = ((try? FileSystem.read(log)) ?? "").split(separator: "\n").suffix(5).joined(separator: "\n")
                throw DriverError("containerd exited (wait status \(status)) before serving \(socket); its log \(log) ends:\n\(tail)")
            }
            if Self.accepts(socket) { return }
            usleep(10_000)
        }
        throw DriverError("containerd did not serve \(socket) within 10 s; see \(directory)/containerd.log")
    }

    static func accepts(_ path: String) -> Bool {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes + [0])
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }

    static func shortHash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h & 0xffff_ffff, radix: 16)
    }

    /// Only what cowbench needs: no CRI, no /opt plugin directory, nothing
    /// listening but the one socket, and everything under `directory`.
    /// containerd's default log level, as on a host: at debug it logs every
    /// call, which costs each one time a host's containerd does not spend.
    static func configuration(directory: String, socket: String) -> String {
        """
        version = 2
        root = "\(directory)/root"
        state = "\(directory)/state"
        disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", \
        "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", \
        "io.containerd.internal.v1.tracing"]

        [grpc]
          address = "\(socket)"

        [ttrpc]
          address = "\(socket).ttrpc"

        [debug]
          address = ""
          level = "info"

        [metrics]
          address = ""

        """
    }
}
