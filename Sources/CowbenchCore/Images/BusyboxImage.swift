import Glibc

/// A small real rootfs around the host's static busybox: the binary, a
/// symlink per applet, and the usual directories and `/etc` files, so that a
/// process can really start inside an instance. One layer.
public enum BusyboxImage {
    public static let candidates = ["/bin/busybox", "/usr/bin/busybox"]

    /// The host's busybox, which must be statically linked because the
    /// rootfs has no C library.
    public static func hostBinary() throws -> String {
        guard let path = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw SetupError("busybox not found at \(candidates.joined(separator: " or ")); run scripts/setup.sh (Debian package busybox-static)")
        }
        let head = try FileSystem.readPrefix(path, bytes: 4096)
        if head.windows(ofCount: 11).contains(where: { $0.elementsEqual("/ld-linux-x".utf8) || $0.elementsEqual("/ld-musl-x8".utf8) }) {
            throw SetupError("\(path) is dynamically linked, so it cannot run inside a rootfs without libc; install busybox-static (scripts/setup.sh)")
        }
        return path
    }

    @discardableResult
    public static func build(into directory: String) throws -> Int {
        let binary = try hostBinary()
        let root = directory + "/0"
        try FileSystem.mkdir(root)
        for (dir, mode) in [("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755), ("usr/sbin", 0o755),
                            ("etc", 0o755), ("tmp", 0o1777), ("proc", 0o555), ("sys", 0o555), ("dev", 0o755),
                            ("root", 0o700), ("home", 0o755), ("var", 0o755), ("var/tmp", 0o1777), ("run", 0o755)] {
            try FileSystem.mkdir(root + "/" + dir, mode: mode_t(mode))
            chmod(root + "/" + dir, mode_t(mode)) // mkdir's mode passes through the umask
        }
        try FileSystem.copyFile(binary, to: root + "/bin/busybox", mode: 0o755)
        let applets = try Command.run([binary, "--list-full"]).split(separator: "\n").map(String.init)
        for applet in applets where applet != "bin/busybox" && !FileSystem.exists(root + "/" + applet) {
            try retrying("symlink", path: root + "/" + applet) { symlink("/bin/busybox", root + "/" + applet) }
        }
        try FileSystem.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", to: root + "/etc/passwd")
        try FileSystem.write("root:x:0:\nnogroup:x:65534:\n", to: root + "/etc/group")
        try FileSystem.write("cowbench\n", to: root + "/etc/hostname")
        try FileSystem.write("NAME=\"cowbench busybox\"\nID=cowbench-busybox\n", to: root + "/etc/os-release")
        return 1
    }
}

private extension Array where Element == UInt8 {
    func windows(ofCount n: Int) -> [ArraySlice<UInt8>] {
        count < n ? [] : (0...(count - n)).map { self[$0..<($0 + n)] }
    }
}
