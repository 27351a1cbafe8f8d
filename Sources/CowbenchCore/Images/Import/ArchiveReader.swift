import CArchive
import Glibc

/// A tar archive read through libarchive: tar, pax and GNU formats, plain or
/// through any filter libarchive knows (gzip, zstd, xz…). Entries come one
/// at a time; nothing is written anywhere by the reader itself.
final class ArchiveReader {
    /// One header, as the archive states it. Nothing here is trusted yet.
    struct Entry {
        var path: String
        var fileType: mode_t
        var permissions: mode_t
        var uid: uid_t
        var gid: gid_t
        var size: Int64
        var mtime: timespec
        /// The hardlink target, relative to the archive's root.
        var hardlink: String?
        var symlink: String?
        var deviceMajor: UInt32
        var deviceMinor: UInt32
        var xattrs: [(name: String, value: [UInt8])]
    }

    let path: String
    private let archive: OpaquePointer

    /// Opens `path`; `raw` reads it as one stream of decompressed bytes
    /// instead of as tar entries (for digests of uncompressed layers).
    init(path: String, raw: Bool = false) throws {
        self.path = path
        guard let a = archive_read_new() else { throw ImportError("libarchive could not allocate a reader for \(path)") }
        archive = a
        archive_read_support_filter_all(a)
        if raw {
            archive_read_support_format_raw(a)
        } else {
            archive_read_support_format_tar(a)
            archive_read_support_format_gnutar(a)
            archive_read_support_format_empty(a)
        }
        // The handle is freed once, by deinit, which runs for a throwing
        // init once every property is set: freeing it here as well made
        // libarchive abort ("archive_read_free invoked with invalid archive handle").
        if archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK {
            throw ImportError("\(path) is not an image cowbench can import: \(lastError); give an OCI layout (directory or tar), "
                + "a docker-save archive, or a rootfs as a tar (plain, gzip or zstd) or a directory")
        }
    }

    deinit { archive_read_free(archive) }

    private var lastError: String {
        archive_error_string(archive).map { String(cString: $0) } ?? "libarchive error \(archive_errno(archive))"
    }

    /// The next header, or nil at the end of the archive.
    func next() throws -> Entry? {
        var entry: OpaquePointer?
        let rc = archive_read_next_header(archive, &entry)
        if rc == ARCHIVE_EOF { return nil }
        guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN, let e = entry else {
            throw ImportError("\(path) is not a tar archive, or is cut short: \(lastError); give an OCI layout (directory or tar), "
                + "a docker-save archive, or a rootfs as a tar (plain, gzip or zstd) or a directory")
        }
        var xattrs: [(String, [UInt8])] = []
        archive_entry_xattr_reset(e)
        var name: UnsafePointer<CChar>?, value: UnsafeRawPointer?, size = 0
        while archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            xattrs.append((String(cString: name), bytes))
        }
        let pathname = archive_entry_pathname_utf8(e) ?? archive_entry_pathname(e)
        return Entry(path: pathname.map { String(cString: $0) } ?? "",
                     fileType: archive_entry_filetype(e), permissions: archive_entry_perm(e),
                     uid: uid_t(truncatingIfNeeded: archive_entry_uid(e)), gid: gid_t(truncatingIfNeeded: archive_entry_gid(e)),
                     size: archive_entry_size(e),
                     mtime: timespec(tv_sec: archive_entry_mtime(e), tv_nsec: archive_entry_mtime_nsec(e)),
                     hardlink: archive_entry_hardlink(e).map { String(cString: $0) },
                     symlink: archive_entry_symlink(e).map { String(cString: $0) },
                     deviceMajor: UInt32(archive_entry_rdevmajor(e)), deviceMinor: UInt32(archive_entry_rdevminor(e)),
                     xattrs: xattrs)
    }

    /// Hands the current entry's data to `body` block by block, with each
    /// block's offset (sparse files skip the holes).
    func readData(_ body: (UnsafeRawBufferPointer, Int64) throws -> Void) throws {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        while true {
            let rc = archive_read_data_block(archive, &buffer, &size, &offset)
            if rc == ARCHIVE_EOF { return }
            guard rc == ARCHIVE_OK || rc == ARCHIVE_WARN else { throw ImportError("reading \(path): \(lastError)") }
            try body(UnsafeRawBufferPointer(start: buffer, count: size), offset)
        }
    }

    /// Names of every entry, reading headers only.
    static func names(_ path: String) throws -> [String] {
        let r = try ArchiveReader(path: path)
        var out: [String] = []
        while let e = try r.next() { out.append(e.path) }
        return out
    }
}

/// An import that cannot go on, with a message that names the layer and entry.
public struct ImportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
