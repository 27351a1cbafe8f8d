import CShim
import Foundation
import Glibc

/// The parts of the OCI image-spec an import reads: descriptors, indexes,
/// manifests and the config's diff_ids.
struct OCIDescriptor: Decodable {
    var mediaType: String?
    var digest: String
    var size: Int64
    var annotations: [String: String]?
    var platform: Platform?

    struct Platform: Decodable {
        var architecture: String
        var os: String
    }
}

struct OCIIndex: Decodable {
    var manifests: [OCIDescriptor]
}

struct OCIManifest: Decodable {
    var mediaType: String?
    var config: OCIDescriptor
    var layers: [OCIDescriptor]
}

struct OCIConfig: Decodable {
    struct RootFS: Decodable { var diff_ids: [String] }
    var rootfs: RootFS?
}

/// A docker-save `manifest.json` entry.
struct DockerManifestEntry: Decodable {
    var Config: String
    var RepoTags: [String]?
    var Layers: [String]
}

/// A directory holding an OCI image layout, read blob by verified blob.
struct OCILayout {
    let directory: String

    static let indexTypes: Set<String> = ["application/vnd.oci.image.index.v1+json",
                                          "application/vnd.docker.distribution.manifest.list.v2+json"]

    /// The layer blobs of the image `reference` names (or the only one, or the
    /// one for this machine), bottom first, each verified against its descriptor.
    func layers(reference: String?) throws -> [(path: String, digest: String)] {
        let index = try decode(OCIIndex.self, at: directory + "/index.json", what: "index.json")
        var manifest = try choose(index.manifests, reference: reference, from: "index.json")
        while let type = manifest.mediaType, Self.indexTypes.contains(type) {
            let nested = try decode(OCIIndex.self, at: try verifiedBlob(manifest, what: "image index"), what: "image index \(manifest.digest)")
            manifest = try choose(nested.manifests, reference: nil, from: "image index \(manifest.digest)")
        }
        let m = try decode(OCIManifest.self, at: try verifiedBlob(manifest, what: "manifest"), what: "manifest \(manifest.digest)")
        _ = try verifiedBlob(m.config, what: "config")
        return try m.layers.enumerated().map { i, d in (try verifiedBlob(d, what: "layer \(i)"), d.digest) }
    }

    /// The blob a descriptor names, after checking its size and digest.
    func verifiedBlob(_ d: OCIDescriptor, what: String) throws -> String {
        let (algorithm, hex) = try BlobDigest.parse(d.digest, what: what)
        let path = "\(directory)/blobs/\(algorithm)/\(hex)"
        let fd: FileDescriptor
        do { fd = try Self.openInside(directory, "blobs/\(algorithm)/\(hex)") } catch {
            throw ImportError("\(what) blob \(d.digest) is missing from the layout: \(error)")
        }
        var st = stat()
        guard fstat(fd.raw, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw ImportError("\(what) blob \(d.digest) is not a regular file")
        }
        guard Int64(st.st_size) == d.size else {
            throw ImportError("\(what) blob \(d.digest) is \(st.st_size) bytes, but its descriptor says \(d.size)")
        }
        let actual = try BlobDigest.of(file: fd, algorithm: algorithm)
        guard actual == d.digest else {
            throw ImportError("\(what) blob \(d.digest) does not match its digest: its content hashes to \(actual)")
        }
        return path
    }

    private func choose(_ manifests: [OCIDescriptor], reference: String?, from: String) throws -> OCIDescriptor {
        if let reference {
            guard let m = manifests.first(where: { $0.annotations?["org.opencontainers.image.ref.name"] == reference }) else {
                let names = manifests.compactMap { $0.annotations?["org.opencontainers.image.ref.name"] }
                throw ImportError("\(from) has no image named '\(reference)'; it has: \(names.joined(separator: ", "))")
            }
            return m
        }
        // Several images, not one image for several platforms: which one is
        // meant cannot be guessed, so say which there are.
        if manifests.count > 1 && !manifests.allSatisfy({ $0.platform != nil }) {
            let names = manifests.map { $0.annotations?["org.opencontainers.image.ref.name"] ?? $0.digest }
            throw ImportError("\(from) holds \(manifests.count) images; choose one with --ref: \(names.joined(separator: ", "))")
        }
        let arch = HostInfo.ociArchitecture
        if let m = manifests.first(where: { $0.platform == nil || ($0.platform!.os == "linux" && $0.platform!.architecture == arch) }) {
            return m
        }
        guard let first = manifests.first else { throw ImportError("\(from) lists no manifests") }
        return first
    }

    /// Opens `relative` under `directory` for reading; the kernel refuses a
    /// path that leaves it by "..", a symlink or a mount.
    static func openInside(_ directory: String, _ relative: String) throws -> FileDescriptor {
        let dir = try FileDescriptor.directory(directory)
        let fd = cb_openat2_beneath(dir.raw, relative, O_RDONLY, 0)
        if fd < 0 { throw SyscallError("openat2(RESOLVE_BENEATH)", path: directory + "/" + relative) }
        return FileDescriptor(raw: fd, path: directory + "/" + relative)
    }

    func decode<T: Decodable>(_ type: T.Type, at path: String, what: String) throws -> T {
        let text: String
        do { text = try FileSystem.read(path) } catch { throw ImportError("cannot read \(what): \(error)") }
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw ImportError("\(what) is not valid: \(error)")
        }
    }
}
