import CowbenchCore
import Glibc

/// What the process inside each instance does, by name, with parameters.
public enum Workload: Sendable, Equatable, CustomStringConvertible {
    /// `/bin/true`: pure start-up.
    case start
    /// Create `files` small files in /tmp: each `fileSize` bytes, or the
    /// 9 bytes "cowbench\n" when `fileSize` is 0.
    case write(files: Int, fileSize: Int = 0)
    /// Change one byte in each of `count` large image files: overlay copies
    /// the whole file up, btrfs only the changed extent.
    case copyUp(count: Int)
    /// Remove `count` image files (whiteouts on overlay).
    case delete(count: Int)
    /// A blend: write, then copy-up, then delete.
    case mixed(files: Int, count: Int)
    /// Read the image's regular files, in path order, until `limit` bytes,
    /// as a process loading its libraries does: each page once, through
    /// `cat` to /dev/null (see `argv`).
    case read(limit: Int64)
    /// Look up `count` entries as deep in the image's stack as lookups go
    /// (`Targets.deepest`), once each. The mount is fresh, so each lookup
    /// on overlay asks every layer above the entry's own.
    case stat(count: Int)
    /// Write one file of `bytes` sequentially, a MiB at a time, and fsync it,
    /// so the time holds the writeback (ext4's delayed allocation included).
    case seqWrite(bytes: Int)
    /// A user-namespace remap without idmapped mounts: the runtime chowns
    /// every entry of the rootfs to id + `shift` from the host
    /// (`RemapChown`), then starts `/bin/true`. The chown is timed into
    /// `run`; what it copies up shows in the instance's space.
    case chown(shift: UInt32)

    public static let names = ["start", "write", "copy-up", "delete", "mixed", "read", "stat", "seq-write", "chown"]
    /// The remap's id shift, as Docker's userns-remap gives its first range.
    public static let defaultChownShift: UInt32 = 100_000
    /// Default size of the seq-write workload's file.
    public static let defaultSeqWriteBytes = 64 << 20
    /// Default cap of the read workload.
    public static let defaultReadLimit: Int64 = 1 << 30

    public init(name: String, files: Int = 100, count: Int = 4, fileSize: Int = 0, readLimit: Int64 = defaultReadLimit) throws {
        switch name {
        case "start": self = .start
        case "write": self = .write(files: files, fileSize: fileSize)
        case "copy-up": self = .copyUp(count: count)
        case "delete": self = .delete(count: count)
        case "mixed": self = .mixed(files: files, count: count)
        case "read": self = .read(limit: readLimit)
        case "stat": self = .stat(count: count)
        case "seq-write":
            let bytes = fileSize == 0 ? Self.defaultSeqWriteBytes : fileSize
            guard bytes % min(bytes, 1 << 20) == 0 else {
                throw SetupError("workload seq-write writes whole MiB chunks: --file-size \(bytes) is over 1 MiB but not a multiple of it")
            }
            self = .seqWrite(bytes: bytes)
        case "chown": self = .chown(shift: Self.defaultChownShift)
        default: throw SetupError("unknown workload '\(name)'; choose one of \(Self.names.joined(separator: ", "))")
        }
    }

    public var name: String {
        switch self {
        case .start: "start"
        case .write: "write"
        case .copyUp: "copy-up"
        case .delete: "delete"
        case .mixed: "mixed"
        case .read: "read"
        case .stat: "stat"
        case .seqWrite: "seq-write"
        case .chown: "chown"
        }
    }

    public var description: String {
        switch self {
        case .start: "start"
        case .write(let n, 0): "write(files=\(n))"
        case .write(let n, let size): "write(files=\(n),file-size=\(size))"
        case .copyUp(let k): "copy-up(count=\(k))"
        case .delete(let k): "delete(count=\(k))"
        case .mixed(let n, let k): "mixed(files=\(n),count=\(k))"
        case .read(let limit): limit == Self.defaultReadLimit ? "read" : "read(limit=\(limit))"
        case .stat(let k): "stat(count=\(k))"
        case .seqWrite(let bytes): "seq-write(bytes=\(bytes))"
        case .chown(let shift): shift == Self.defaultChownShift ? "chown" : "chown(shift=\(shift))"
        }
    }

    /// Image files the workload acts on, found once in a sample instance.
    public struct Targets: Sendable {
        public var large: [String] = []
        public var deletable: [String] = []
        /// Every regular file with its size, in path order.
        public var readable: [(path: String, size: Int64)] = []
        /// Files and symlinks that a fresh mount's lookup reaches through
        /// every layer above them: from the bottom layer up, each still in the
        /// rootfs with its type, under a directory that every layer above
        /// also has (overlay asks only the layers where the parent exists).
        public var deepest: [String] = []
    }

    /// Work the runtime does on the rootfs from the host before the process
    /// starts, timed into `run`; nil for workloads that are the process alone.
    public var hostStep: (@Sendable (String) throws -> Void)? {
        guard case .chown(let shift) = self else { return nil }
        return { try RemapChown.apply($0, shift: shift) }
    }

    /// Files of at least 64 KiB for copy-up (not the running busybox, which
    /// would be ETXTBSY), and plain files outside /bin for delete.
    /// `layers` are the image's layer directories, bottom first, when known.
    public static func findTargets(in rootfs: String, layers: [String] = []) throws -> Targets {
        var t = Targets()
        t.deepest = try deepestEntries(layers, rootfs: rootfs)
        var large: [(String, Int64)] = []
        t.readable = try regularFiles(in: rootfs)
        for (path, size) in t.readable where path != "/bin/busybox" {
            if size >= 64 << 10 { large.append((path, size)) }
            if !path.hasPrefix("/bin/") { t.deletable.append(path) }
        }
        t.large = large.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map(\.0)
        t.deletable.sort()
        return t
    }

    /// Every regular file of a rootfs with its size, depth first in name
    /// order, outside /proc, /sys and /dev.
    static func regularFiles(in rootfs: String) throws -> [(path: String, size: Int64)] {
        var found: [(String, Int64)] = []
        func walk(_ rel: String) throws {
            for name in try FileSystem.list(rootfs + rel).sorted() {
                let r = rel + "/" + name
                let st = try FileSystem.lstat(rootfs + r)
                switch st.st_mode & 0o170000 {
                case 0o040000 where !["/proc", "/sys", "/dev"].contains(r): try walk(r)
                case 0o100000: found.append((r, Int64(st.st_size)))
                default: break
                }
            }
        }
        try walk("")
        return found
    }

    /// At most `limit` entries for `Targets.deepest`, layer by layer from
    /// the bottom, in path order within a layer. A directory missing from
    /// some layer above prunes its whole subtree: nothing under it is
    /// looked up in that layer either.
    static func deepestEntries(_ layers: [String], rootfs: String, limit: Int = 10_000) throws -> [String] {
        var found: [String] = []
        func everyLayerAbove(_ index: Int, has rel: String) -> Bool {
            layers[(index + 1)...].allSatisfy { ((try? FileSystem.lstat($0 + rel))?.st_mode ?? 0) & S_IFMT == S_IFDIR }
        }
        func walk(_ layer: Int, _ rel: String) throws {
            for name in try FileSystem.list(layers[layer] + rel).sorted() where found.count < limit {
                let r = rel + "/" + name
                let kind = try FileSystem.lstat(layers[layer] + r).st_mode & S_IFMT
                if kind == S_IFDIR {
                    if everyLayerAbove(layer, has: r) { try walk(layer, r) }
                } else if kind == S_IFREG || kind == S_IFLNK, ((try? FileSystem.lstat(rootfs + r))?.st_mode ?? 0) & S_IFMT == kind {
                    found.append(r)
                }
            }
        }
        for layer in layers.indices where found.count < limit { try walk(layer, "") }
        return found
    }

    /// Whether `binary` exists in `rootfs` as the instance will see it:
    /// symlinks are followed inside the rootfs (an absolute target means the
    /// rootfs's own /, never the host's).
    public static func imageHas(_ binary: String, in rootfs: String) -> Bool {
        var path = binary
        for _ in 0..<16 {
            guard let st = try? FileSystem.lstat(rootfs + path) else { return false }
            guard st.st_mode & S_IFMT == S_IFLNK else { return st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o111 != 0 }
            guard let target = try? FileSystem.readLink(rootfs + path) else { return false }
            path = target.hasPrefix("/") ? target : Path.parent(path) + "/" + target
        }
        return false
    }

    /// The command to run in the instance (argv[0] is the image's own binary).
    public func argv(_ targets: Targets) throws -> [String] {
        let writeLoop = { (n: Int) in "i=0; while [ $i -lt \(n) ]; do echo cowbench > /tmp/w$i || exit 1; i=$((i+1)); done" }
        switch self {
        case .start, .chown:
            return ["/bin/true"]
        case .write(let n, 0):
            return ["/bin/sh", "-c", writeLoop(n)]
        case .write(let n, let size):
            // The content is built once by doubling, then written N times: no
            // /dev/zero needed in the image, and no fork per file.
            let fill = "s=x; while [ ${#s} -lt \(size) ]; do s=$s$s; done; s=${s:0:\(size)}"
            return ["/bin/sh", "-c", "\(fill); i=0; while [ $i -lt \(n) ]; do printf %s \"$s\" > /tmp/w$i || exit 1; i=$((i+1)); done"]
        case .copyUp(let k):
            let files = try pick(targets.large, k, "files of at least 64 KiB (besides /bin/busybox)")
            return ["/bin/sh", "-c", "for f; do printf X 1<>\"$f\" || exit 1; done", "sh"] + files
        case .delete(let k):
            return ["/bin/rm", "--"] + (try pick(targets.deletable, k, "files outside /bin"))
        case .mixed(let n, let k):
            let large = try pick(targets.large, max(1, k / 2), "files of at least 64 KiB")
            let gone = try pick(targets.deletable, max(1, k / 2), "files outside /bin")
            // Paths go in as arguments, never into the script text: "--"
            // separates the files to touch from the files to remove.
            let touch = "while [ \"$1\" != -- ]; do printf X 1<>\"$1\" || exit 1; shift; done; shift"
            return ["/bin/sh", "-c", "\(writeLoop(n)); \(touch); rm -- \"$@\"", "sh"] + large + ["--"] + gone
        case .read(let limit):
            return ["/bin/cat", "--"] + (try Self.readList(targets.readable, limit: limit))
        case .stat(let k):
            // `[` is ash's builtin: one lstat (and a stat) per path, no fork.
            let files = try pick(targets.deepest, k, "entries deep in the image's layer stack (under directories every layer above has)")
            return ["/bin/sh", "-c", "for f; do [ -h \"$f\" ] || [ -e \"$f\" ] || exit 1; done", "sh"] + files
        case .seqWrite(let bytes):
            // A MiB of text built by doubling (no /dev/zero in the box), then
            // cat copies it N times into one file: the shell's own printf would
            // be CPU-bound (1.6 s of user time for 256 MiB here, against 0.08 s
            // for cat), and would measure the shell, not the driver. busybox
            // `sync FILE` is fsync(2).
            let chunk = min(bytes, 1 << 20)
            let fill = "s=x; while [ ${#s} -lt \(chunk) ]; do s=$s$s; done; printf %s \"${s:0:\(chunk)}\" > /tmp/chunk"
            return ["/bin/sh", "-c", "\(fill) && cat \"$@\" > /tmp/seq && sync /tmp/seq", "sh"]
                + Array(repeating: "/tmp/chunk", count: bytes / chunk)
        }
    }

    /// Files to read, in path order, up to `limit` bytes and to what fits in
    /// one argv (the kernel allows 2 MiB of arguments; 1 MiB leaves room for
    /// the environment). cat reads each file once into the page cache; the
    /// loop device's direct I/O keeps the backing file from caching it again.
    static func readList(_ files: [(path: String, size: Int64)], limit: Int64) throws -> [String] {
        var picked: [String] = []
        var bytes: Int64 = 0
        var argBytes = 0
        for f in files where f.size > 0 {
            guard bytes + f.size <= limit, argBytes + f.path.utf8.count + 1 <= 1 << 20 else { break }
            picked.append(f.path)
            bytes += f.size
            argBytes += f.path.utf8.count + 1
        }
        guard !picked.isEmpty else { throw SetupError("workload read finds no regular file of at most \(limit) bytes in the image") }
        return picked
    }

    private func pick(_ pool: [String], _ k: Int, _ what: String) throws -> [String] {
        guard pool.count >= k else {
            throw SetupError("workload \(name) needs \(k) \(what) in the image, but it has \(pool.count); "
                + "use a synthetic image, e.g. --image synthetic:layers=5,files=100")
        }
        return Array(pool.prefix(k))
    }
}
