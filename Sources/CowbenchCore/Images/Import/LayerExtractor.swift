import CShim
import Glibc

/// Limits that stop a hostile or broken archive before it fills the disk.
public struct ImportLimits: Sendable {
    /// Bytes of file data an import may write in total.
    public var maxBytes: UInt64 = 16 << 30
    /// Entries an import may create in total.
    public var maxEntries = 2_000_000
    /// Free space an import always leaves on the state directory's filesystem.
    public var keepFree: UInt64 = 512 << 20

    public init() {}
}

/// What an import has spent against its limits, across all its layers.
final class ImportBudget {
    let limits: ImportLimits
    let stateFilesystem: String
    private(set) var bytes: UInt64 = 0
    private(set) var entries = 0
    private var sinceCheck: UInt64 = 0

    init(limits: ImportLimits, stateFilesystem: String) {
        self.limits = limits
        self.stateFilesystem = stateFilesystem
    }

    func spend(bytes n: UInt64, entries e: Int) throws -> String? {
        bytes += n
        entries += e
        sinceCheck += n
        if bytes > limits.maxBytes {
            return "the image expands past the \(ByteSize.format(Double(limits.maxBytes))) limit (a decompression bomb?); "
                + "raise --max-size if it is really that big"
        }
        if entries > limits.maxEntries { return "the image has more than \(limits.maxEntries) entries" }
        if sinceCheck >= 64 << 20 || e > 0 && entries % 10_000 == 0 {
            sinceCheck = 0
            if let fs = try? FileSystem.statfs(stateFilesystem), fs.availableBytes < limits.keepFree {
                return "only \(ByteSize.format(Double(fs.availableBytes))) left on \(stateFilesystem); stopping before the disk fills"
            }
        }
        return nil
    }
}

/// Unpacks one untrusted layer tarball into an empty directory, in the
/// overlayfs format every driver reads: an OCI `.wh.<name>` becomes a
/// character device 0/0, and `.wh..wh..opq` becomes `trusted.overlay.opaque=y`
/// on its directory.
///
/// Every path is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
/// so the kernel itself refuses "..", absolute paths and symlinks on the way;
/// names are also checked up front so the error says what was wrong.
struct LayerExtractor {
    let layer: String
    let rootPath: String
    let whiteouts: Bool
    let budget: ImportBudget
    private let root: FileDescriptor
    /// Paths this layer created, and whether each is a directory.
    private var created: [String: Bool] = [:]
    private var directoryMetadata: [(String, ArchiveReader.Entry)] = []
    private var opaque: [String] = []

    init(layer: String, into directory: String, whiteouts: Bool, budget: ImportBudget) throws {
        self.layer = layer
        rootPath = directory
        self.whiteouts = whiteouts
        self.budget = budget
        root = try FileDescriptor.directory(directory)
    }

    mutating func extract(_ archive: String) throws {
        let reader = try ArchiveReader(path: archive)
        while let entry = try reader.next() {
            try StopRequest.check("unpacking \(reader.path)")
            do {
                try add(entry, reader)
            } catch let e as ImportError {
                throw e
            } catch {
                throw ImportError("\(layer): entry '\(entry.path)': \(error)")
            }
        }
        for dir in opaque {
            let fd = try openBeneath(dir, flags: O_RDONLY | O_DIRECTORY, entry: dir + "/.wh..wh..opq")
            try retrying("fsetxattr(trusted.overlay.opaque)", path: rootPath + "/" + dir) { fsetxattr(fd.raw, "trusted.overlay.opaque", "y", 1, 0) }
        }
        // Deepest first, and after their contents, or writing a child would change a parent's mtime.
        for (path, entry) in directoryMetadata.sorted(by: { $0.0.count > $1.0.count }) {
            let fd = try openBeneath(path, flags: O_RDONLY | O_DIRECTORY, entry: entry.path)
            try applyMetadata(entry, fd: fd.raw, full: rootPath + "/" + path)
        }
    }

    private func refuse(_ entry: String, _ why: String) -> ImportError {
        ImportError("\(layer): entry '\(entry)': \(why)")
    }

    /// The entry's path as components, refusing anything that could leave the layer.
    func components(_ path: String, entry: String) throws -> [String] {
        if path.hasPrefix("/") { throw refuse(entry, "absolute path; a layer's paths are relative to its root") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
        if parts.contains("..") { throw refuse(entry, "'..' in the path would leave the layer") }
        if path.utf8.count > 4096 { throw refuse(entry, "path longer than PATH_MAX") }
        return parts
    }

    private mutating func add(_ e: ArchiveReader.Entry, _ reader: ArchiveReader) throws {
        var parts = try components(e.path, entry: e.path)
        if let why = try budget.spend(bytes: 0, entries: 1) { throw refuse(e.path, why) }
        guard let name = parts.popLast() else {
            if e.fileType == S_IFDIR { directoryMetadata.append(("", e)) }
            return
        }
        let parentPath = parts.joined(separator: "/")
        let full = parentPath.isEmpty ? name : parentPath + "/" + name

        if whiteouts && name.hasPrefix(".wh.") {
            let parent = try makeDirectories(parts, entry: e.path)
            if name == ".wh..wh..opq" {
                opaque.append(parentPath)
                return
            }
            if name.hasPrefix(".wh..wh.") { return } // reserved by the spec (aufs hardlink dirs)
            let hidden = String(name.dropFirst(4))
            guard !hidden.isEmpty, hidden != ".", hidden != ".." else {
                throw refuse(e.path, "a whiteout must name an entry, not '\(hidden)'")
            }
            let target = parentPath.isEmpty ? hidden : parentPath + "/" + hidden
            if created[target] != nil { throw refuse(e.path, "whiteout for '\(target)', which this same layer creates") }
            try retrying("mknodat", path: rootPath + "/" + target) { mknodat(parent.raw, hidden, S_IFCHR, 0) }
            created[target] = false
            return
        }

        if let isDirectory = created[full] {
            guard isDirectory && e.fileType == S_IFDIR else {
                throw refuse(e.path, "'\(full)' appears twice in this layer")
            }
            directoryMetadata.append((full, e))
            return
        }
        for x in e.xattrs where x.name.hasPrefix("trusted.overlay.") {
            throw refuse(e.path, "carries \(x.name), which overlayfs would obey; layers must not set it")
        }
        let parent = try makeDirectories(parts, entry: e.path)
        let dest = rootPath + "/" + full
        if let link = e.hardlink {
            let target = try components(link, entry: e.path).joined(separator: "/")
            guard created[target] == false else {
                throw refuse(e.path, "hardlink to '\(link)', which is not a file this layer created")
            }
            let targetParts = target.split(separator: "/").map(String.init)
            let targetParent = try openBeneath(targetParts.dropLast().joined(separator: "/"),
                                               flags: oPath | O_DIRECTORY, entry: e.path)
            try retrying("linkat", path: dest) { linkat(targetParent.raw, targetParts.last!, parent.raw, name, 0) }
            created[full] = false
            return
        }
        switch e.fileType {
        case S_IFDIR:
            try retrying("mkdirat", path: dest) { mkdirat(parent.raw, name, 0o700) }
            created[full] = true
            directoryMetadata.append((full, e))
        case S_IFREG:
            let fd = try FileDescriptor(at: parent.raw, name, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                        mode: 0o600, fullPath: dest)
            created[full] = false
            // The apparent size counts, not the bytes stored: a 1 MB tar can
            // hold a 10 GiB sparse file that every driver would then copy.
            if let why = try budget.spend(bytes: UInt64(max(0, e.size)), entries: 0) { throw refuse(e.path, why) }
            try reader.readData { block, offset in
                var done = 0
                while done < block.count {
                    let n = pwrite(fd.raw, block.baseAddress! + done, block.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SyscallError("pwrite", path: dest)
                    }
                    done += n
                }
            }
            try retrying("ftruncate", path: dest) { ftruncate(fd.raw, off_t(e.size)) }
            try applyMetadata(e, fd: fd.raw, full: dest)
        case S_IFLNK:
            guard let target = e.symlink else { throw refuse(e.path, "symlink without a target") }
            try retrying("symlinkat", path: dest) { symlinkat(target, parent.raw, name) }
            created[full] = false
            try applyLinkMetadata(e, parent: parent.raw, name: name, full: dest)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            let dev = Self.makedev(e.deviceMajor, e.deviceMinor)
            try retrying("mknodat", path: dest) { mknodat(parent.raw, name, e.fileType | e.permissions, dev) }
            created[full] = false
            try applyLinkMetadata(e, parent: parent.raw, name: name, full: dest)
            try retrying("fchmodat", path: dest) { fchmodat(parent.raw, name, e.permissions, 0) }
        default:
            throw refuse(e.path, "unsupported entry type 0o\(String(e.fileType, radix: 8))")
        }
    }

    /// Opens (creating as needed) the directory `parts` beneath the root.
    private mutating func makeDirectories(_ parts: [String], entry: String) throws -> FileDescriptor {
        // The usual case: a directory this layer made, whose parents it made
        // first, so they are directories too. One openat2 instead of one per level.
        let whole = parts.joined(separator: "/")
        if !parts.isEmpty, created[whole] == true { return try openBeneath(whole, flags: oPath | O_DIRECTORY, entry: entry) }
        var fd = try openBeneath("", flags: oPath | O_DIRECTORY, entry: entry)
        var path = ""
        for p in parts {
            path = path.isEmpty ? p : path + "/" + p
            if created[path] == nil {
                let rc = mkdirat(fd.raw, p, 0o755)
                if rc == 0 { created[path] = true } else if errno != EEXIST {
                    throw SyscallError("mkdirat", path: rootPath + "/" + path)
                }
            }
            if created[path] == false {
                let isLink = (try? FileSystem.lstat(rootPath + "/" + path)).map { $0.st_mode & S_IFMT == S_IFLNK } ?? false
                throw refuse(entry, isLink ? "'\(path)' is a symlink; nothing is written through a symlink"
                                           : "'\(path)' is not a directory in this layer")
            }
            fd = try openBeneath(path, flags: oPath | O_DIRECTORY, entry: entry)
        }
        return fd
    }

    private func openBeneath(_ path: String, flags: Int32, entry: String) throws -> FileDescriptor {
        let fd = cb_openat2_beneath(root.raw, path.isEmpty ? "." : path, flags, 0)
        if fd < 0 {
            let e = errno
            switch e {
            case ELOOP: throw refuse(entry, "'\(path)' is a symlink; nothing is written through a symlink")
            case EXDEV: throw refuse(entry, "'\(path)' leaves the layer directory")
            case ENOTDIR: throw refuse(entry, "'\(path)' is not a directory")
            default: throw SyscallError("openat2(RESOLVE_BENEATH)", path: rootPath + "/" + path, errno: e)
            }
        }
        return FileDescriptor(raw: fd, path: rootPath + "/" + path)
    }

    private func applyMetadata(_ e: ArchiveReader.Entry, fd: Int32, full: String) throws {
        try retrying("fchown", path: full) { fchown(fd, e.uid, e.gid) }
        try retrying("fchmod", path: full) { fchmod(fd, e.permissions) } // after chown, which clears setuid
        for x in e.xattrs {
            try retrying("fsetxattr(\(x.name))", path: full) { fsetxattr(fd, x.name, x.value, x.value.count, 0) }
        }
        var times = [e.mtime, e.mtime]
        try retrying("futimens", path: full) { futimens(fd, &times) }
    }

    private func applyLinkMetadata(_ e: ArchiveReader.Entry, parent: Int32, name: String, full: String) throws {
        try retrying("fchownat", path: full) { fchownat(parent, name, e.uid, e.gid, AT_SYMLINK_NOFOLLOW) }
        var times = [e.mtime, e.mtime]
        try retrying("utimensat", path: full) { utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW) }
    }

    /// O_PATH is only declared under _GNU_SOURCE, which Swift's Glibc lacks.
    private let oPath: Int32 = 0o10000000

    /// glibc's makedev() is a macro, which Swift does not import.
    static func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
        let ma = UInt64(major), mi = UInt64(minor)
        return dev_t((mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xff) << 12) | ((ma & ~0xfff) << 32))
    }
}
