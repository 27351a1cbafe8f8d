import CowbenchCore
import Foundation
import Glibc

/// A cowbench image written as an OCI image archive, the form
/// `ctr images import` unpacks through a snapshotter. cowbench's layers are
/// in overlayfs's on-disk format, so each is staged first with OCI's
/// whiteouts: a 0/0 character device becomes `.wh.NAME`, and
/// `trusted.overlay.opaque=y` becomes `.wh..wh..opq` inside the directory.
struct OCIArchive {
    /// `docker.io/cowbench/NAME:latest`: what containerd calls the image.
    let reference: String
    /// The layers' uncompressed digests, bottom first (the config's diff_ids).
    let diffIDs: [String]
    let path: String

    /// The snapshot key of each layer once unpacked, bottom first: chainID(L0)
    /// = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)).
    var chainIDs: [String] {
        var out: [String] = []
        for d in diffIDs {
            out.append(out.last.map { BlobDigest.sha256(of: Array("\($0) \(d)".utf8)) } ?? d)
        }
        return out
    }

    /// Writes `image` as `work/image.tar`, staging in `work` (which it leaves
    /// for the caller to remove).
    static func write(_ image: ImageLayers, reference: String, work: String) throws -> OCIArchive {
        let layout = work + "/layout", blobs = layout + "/blobs/sha256"
        try FileSystem.createDirectories(blobs)
        var layers: [(digest: String, size: Int)] = []
        for (i, layer) in image.layers.enumerated() {
            let stage = work + "/stage\(i)"
            try FileSystem.mkdir(stage)
            try TreeCopier.copyContents(of: layer, into: stage)
            try convertWhiteouts(in: stage)
            let tar = work + "/layer\(i).tar"
            try Command.run(["/bin/tar", "--create", "--file", tar, "--xattrs", "--xattrs-include=*", "--numeric-owner",
                             "--sort=name", "--directory", stage, "."])
            try TreeRemover.remove(stage)
            let digest = try BlobDigest.sha256(ofFile: tar)
            try FileSystem.rename(tar, blobs + "/" + hex(digest))
            layers.append((digest, try size(blobs + "/" + hex(digest))))
        }
        let config = try json([
            "architecture": Self.architecture, "os": "linux",
            "rootfs": ["type": "layers", "diff_ids": layers.map(\.digest)] as [String: Any],
            "config": [String: Any](),
        ])
        let configDigest = try blob(config, in: blobs)
        let manifest = try json([
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": config.count] as [String: Any],
            "layers": layers.map { ["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": $0.digest, "size": $0.size] as [String: Any] },
        ])
        let manifestDigest = try blob(manifest, in: blobs)
        let index = try json([
            "schemaVersion": 2,
            "manifests": [[
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest, "size": manifest.count,
                "annotations": ["io.containerd.image.name": reference, "org.opencontainers.image.ref.name": "latest"],
            ] as [String: Any]],
        ])
        try FileSystem.write(index, to: layout + "/index.json")
        try FileSystem.write(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layout + "/oci-layout")
        let archive = work + "/image.tar"
        try Command.run(["/bin/tar", "--create", "--file", archive, "--directory", layout, "--sort=name", "."])
        try TreeRemover.remove(layout)
        return OCIArchive(reference: reference, diffIDs: layers.map(\.digest), path: archive)
    }

    /// The OCI name of this machine's architecture, which containerd's
    /// default platform matcher compares with.
    static var architecture: String {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ["x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"][machine] ?? machine
    }

    /// Rewrites overlayfs's whiteouts under `dir` into OCI's.
    static func convertWhiteouts(in dir: String) throws {
        for name in try FileSystem.list(dir) {
            let path = dir + "/" + name
            let st = try FileSystem.lstat(path)
            if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 {
                try FileSystem.unlink(path)
                try FileSystem.write([UInt8](), to: dir + "/.wh." + name, mode: 0o600)
            } else if st.st_mode & S_IFMT == S_IFDIR {
                if FileSystem.getxattr(path, "trusted.overlay.opaque") == Array("y".utf8) {
                    try FileSystem.removexattr(path, "trusted.overlay.opaque")
                    try FileSystem.write([UInt8](), to: path + "/.wh..wh..opq", mode: 0o600)
                }
                try convertWhiteouts(in: path)
            }
        }
    }

    private static func hex(_ digest: String) -> String { String(digest.dropFirst("sha256:".count)) }

    private static func size(_ path: String) throws -> Int { Int(try FileSystem.lstat(path).st_size) }

    private static func json(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    private static func blob(_ bytes: [UInt8], in blobs: String) throws -> String {
        let digest = BlobDigest.sha256(of: bytes)
        try FileSystem.write(bytes, to: blobs + "/" + hex(digest))
        return digest
    }
}
