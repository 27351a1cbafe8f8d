import CArchive
import Crypto
import CowbenchCore
import Foundation
import Glibc

/// One entry of a test archive; names are written exactly as given, so tests
/// can build the hostile archives an import must refuse.
struct TarEntry {
    enum Kind {
        case file(String)
        case directory
        case symlink(String)
        case hardlink(String)
        case zeros(Int)
        case bytes([UInt8])
    }

    var path: String
    var kind: Kind
    var mode: mode_t = 0o644
    var xattrs: [String: String] = [:]

    static func file(_ path: String, _ content: String, mode: mode_t = 0o644) -> TarEntry {
        TarEntry(path: path, kind: .file(content), mode: mode)
    }
    static func dir(_ path: String) -> TarEntry { TarEntry(path: path, kind: .directory, mode: 0o755) }
    static func symlink(_ path: String, to target: String) -> TarEntry { TarEntry(path: path, kind: .symlink(target), mode: 0o777) }
    static func hardlink(_ path: String, to target: String) -> TarEntry { TarEntry(path: path, kind: .hardlink(target)) }
}

/// Writes tar archives with libarchive's writer (pax format).
enum TarWriter {
    enum Compression { case none, gzip, zstd }

    static func write(_ entries: [TarEntry], to path: String, compression: Compression = .none) throws {
        let a = archive_write_new()!
        defer { archive_write_free(a) }
        archive_write_set_format_pax_restricted(a)
        switch compression {
        case .none: break
        case .gzip: archive_write_add_filter_gzip(a)
        case .zstd: archive_write_add_filter_zstd(a)
        }
        guard archive_write_open_filename(a, path) == ARCHIVE_OK else { throw TestError("cannot write \(path)") }
        for e in entries {
            let entry = archive_entry_new()!
            defer { archive_entry_free(entry) }
            archive_entry_set_pathname(entry, e.path)
            archive_entry_set_perm(entry, e.mode)
            archive_entry_set_mtime(entry, 1_700_000_000, 0)
            var data: [UInt8] = []
            switch e.kind {
            case .file(let s):
                data = Array(s.utf8)
                archive_entry_set_filetype(entry, 0o100000)
            case .bytes(let b):
                data = b
                archive_entry_set_filetype(entry, 0o100000)
            case .zeros(let n):
                data = [UInt8](repeating: 0, count: n)
                archive_entry_set_filetype(entry, 0o100000)
            case .directory:
                archive_entry_set_filetype(entry, 0o040000)
            case .symlink(let t):
                archive_entry_set_filetype(entry, 0o120000)
                archive_entry_set_symlink(entry, t)
            case .hardlink(let t):
                archive_entry_set_filetype(entry, 0o100000)
                archive_entry_set_hardlink(entry, t)
            }
            for (k, v) in e.xattrs { archive_entry_xattr_add_entry(entry, k, v, v.utf8.count) }
            archive_entry_set_size(entry, Int64(data.count))
            guard archive_write_header(a, entry) == ARCHIVE_OK else {
                throw TestError("libarchive refused \(e.path): \(String(cString: archive_error_string(a)))")
            }
            if !data.isEmpty { _ = data.withUnsafeBytes { archive_write_data(a, $0.baseAddress, $0.count) } }
        }
        archive_write_close(a)
    }
}

/// Builds OCI image layouts and docker-save archives from layer entry lists.
enum ImageFixture {
    static func sha256(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Writes an OCI layout in `dir`: layers gzip-compressed, bottom first.
    /// Returns the layer blob digests.
    @discardableResult
    static func ociLayout(_ dir: String, layers: [[TarEntry]], compression: TarWriter.Compression = .gzip) throws -> [String] {
        try FileSystem.createDirectories(dir + "/blobs/sha256")
        func blob(_ bytes: [UInt8]) throws -> (String, Int) {
            let d = sha256(bytes)
            try FileSystem.write(bytes, to: dir + "/blobs/sha256/" + d.dropFirst(7))
            return (d, bytes.count)
        }
        var layerDescriptors: [String] = [], diffIDs: [String] = [], digests: [String] = []
        for (i, entries) in layers.enumerated() {
            let plain = dir + "/layer\(i).tar", packed = dir + "/layer\(i).tar.x"
            try TarWriter.write(entries, to: plain)
            try TarWriter.write(entries, to: packed, compression: compression)
            diffIDs.append(sha256(try bytes(plain)))
            let (d, n) = try blob(try bytes(packed))
            digests.append(d)
            let type = compression == .zstd ? "tar+zstd" : compression == .gzip ? "tar+gzip" : "tar"
            layerDescriptors.append(#"{"mediaType":"application/vnd.oci.image.layer.v1.\#(type)","digest":"\#(d)","size":\#(n)}"#)
            try FileSystem.unlink(plain)
            try FileSystem.unlink(packed)
        }
        let config = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[\#(diffIDs.map { "\"\($0)\"" }.joined(separator: ","))]}}"#
        let (cd, cn) = try blob(Array(config.utf8))
        let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(cd)","size":\#(cn)},"layers":[\#(layerDescriptors.joined(separator: ","))]}"#
        let (md, mn) = try blob(Array(manifest.utf8))
        try FileSystem.write(#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(md)","size":\#(mn),"annotations":{"org.opencontainers.image.ref.name":"test"}}]}"#, to: dir + "/index.json")
        try FileSystem.write(#"{"imageLayoutVersion":"1.0.0"}"#, to: dir + "/oci-layout")
        return digests
    }

    /// Writes a docker-save archive at `path`: `<n>/layer.tar` per layer,
    /// a config named by its digest and manifest.json.
    static func dockerSave(_ path: String, layers: [[TarEntry]], work: String) throws {
        var outer: [TarEntry] = [], diffIDs: [String] = [], names: [String] = []
        for (i, entries) in layers.enumerated() {
            let plain = work + "/docker-layer\(i).tar"
            try TarWriter.write(entries, to: plain)
            let b = try bytes(plain)
            diffIDs.append(sha256(b))
            names.append("\(i)/layer.tar")
            outer.append(.dir("\(i)"))
            outer.append(TarEntry(path: "\(i)/layer.tar", kind: .bytes(b)))
            try FileSystem.unlink(plain)
        }
        let config = #"{"rootfs":{"type":"layers","diff_ids":[\#(diffIDs.map { "\"\($0)\"" }.joined(separator: ","))]}}"#
        let configName = String(sha256(Array(config.utf8)).dropFirst(7)) + ".json"
        outer.append(.file(configName, config))
        outer.append(.file("manifest.json", #"[{"Config":"\#(configName)","RepoTags":["test:latest"],"Layers":[\#(names.map { "\"\($0)\"" }.joined(separator: ","))]}]"#))
        try TarWriter.write(outer, to: path)
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
