import Foundation
import Glibc

/// Turns an image from outside into layer directories in overlayfs format:
/// an OCI image layout (directory or tarball), a docker-save archive, a plain
/// rootfs tarball, or a rootfs directory.
///
/// Everything read is untrusted: blobs are checked against their digests
/// before use, and every layer is unpacked by `LayerExtractor`, which
/// cannot write outside the layer's own directory.
public struct ImageImporter {
    /// What the source turned out to be.
    public enum Format: String, Sendable, Codable {
        case ociLayout = "oci-layout", dockerSave = "docker-save", rootfsTarball = "rootfs-tarball", directory
    }

    public let source: String
    public var reference: String?
    public var limits = ImportLimits()

    /// Hears a line per step (reading the archive, each layer), for a
    /// progress line on a terminal.
    public var progress: (@Sendable (String) -> Void)?

    public init(source: String, reference: String? = nil) {
        self.source = source
        self.reference = reference
    }

    /// Unpacks the image into `<layers>/0`, `<layers>/1`, … (bottom first)
    /// using `scratch` for staging; returns the format and layer digests.
    public func importLayers(into layers: String, scratch: String) throws -> (Format, [String]) {
        let budget = ImportBudget(limits: limits, stateFilesystem: layers)
        if FileSystem.isDirectory(source) {
            if FileSystem.exists(source + "/oci-layout") { return (.ociLayout, try fromOCI(source, layers, budget)) }
            if FileSystem.exists(source + "/manifest.json") { return (.dockerSave, try fromDockerSave(source, layers, budget)) }
            try FileSystem.mkdir(layers + "/0")
            try TreeCopier.copyContents(of: source, into: layers + "/0")
            return (.directory, [])
        }
        guard FileSystem.exists(source) else { throw ImportError("\(source) does not exist") }
        progress?("reading \(source)")
        let names = Set(try ArchiveReader.names(source).map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 })
        if names.contains("oci-layout") || names.contains("manifest.json") {
            try FileSystem.mkdir(scratch)
            var outer = try LayerExtractor(layer: "archive \(source)", into: scratch, whiteouts: false, budget: budget)
            try outer.extract(source)
            if names.contains("oci-layout") { return (.ociLayout, try fromOCI(scratch, layers, budget)) }
            return (.dockerSave, try fromDockerSave(scratch, layers, budget))
        }
        try FileSystem.mkdir(layers + "/0")
        var x = try LayerExtractor(layer: "rootfs tarball \(source)", into: layers + "/0", whiteouts: true, budget: budget)
        try x.extract(source)
        return (.rootfsTarball, [])
    }

    private func fromOCI(_ dir: String, _ layers: String, _ budget: ImportBudget) throws -> [String] {
        let blobs = try OCILayout(directory: dir).layers(reference: reference)
        for (i, blob) in blobs.enumerated() {
            progress?("unpacking layer \(i + 1) of \(blobs.count) (\(blob.digest.prefix(19)))")
            try FileSystem.mkdir(layers + "/\(i)")
            var x = try LayerExtractor(layer: "layer \(i) (\(blob.digest))", into: layers + "/\(i)", whiteouts: true, budget: budget)
            try x.extract(blob.path)
        }
        return blobs.map(\.digest)
    }

    private func fromDockerSave(_ dir: String, _ layers: String, _ budget: ImportBudget) throws -> [String] {
        let layout = OCILayout(directory: dir)
        let entries = try layout.decode([DockerManifestEntry].self, at: dir + "/manifest.json", what: "manifest.json")
        let entry: DockerManifestEntry
        if let reference {
            guard let e = entries.first(where: { $0.RepoTags?.contains(reference) == true }) else {
                throw ImportError("manifest.json has no image tagged '\(reference)'")
            }
            entry = e
        } else {
            guard entries.count == 1, let e = entries.first else {
                throw ImportError("manifest.json holds \(entries.count) images; pick one with --ref REPO:TAG")
            }
            entry = e
        }
        let configPath = try inside(dir, entry.Config, what: "manifest.json Config")
        let config = try layout.decode(OCIConfig.self, at: configPath, what: "image config \(entry.Config)")
        let diffIDs = config.rootfs?.diff_ids ?? []
        guard diffIDs.count == entry.Layers.count else {
            throw ImportError("image config \(entry.Config) lists \(diffIDs.count) diff_ids for \(entry.Layers.count) layers")
        }
        var digests: [String] = []
        for (i, name) in entry.Layers.enumerated() {
            progress?("unpacking layer \(i + 1) of \(entry.Layers.count)")
            let path = try inside(dir, name, what: "layer \(i)")
            _ = try BlobDigest.parse(diffIDs[i], what: "layer \(i) diff_id")
            let actual = try BlobDigest.ofDecompressed(path)
            guard actual == diffIDs[i] else {
                throw ImportError("layer \(i) (\(name)) does not match its diff_id \(diffIDs[i]): its content hashes to \(actual)")
            }
            try FileSystem.mkdir(layers + "/\(i)")
            var x = try LayerExtractor(layer: "layer \(i) (\(name))", into: layers + "/\(i)", whiteouts: true, budget: budget)
            try x.extract(path)
            digests.append(actual)
        }
        return digests
    }

    /// A path named inside the archive's own JSON, refused if it would leave `dir`.
    private func inside(_ dir: String, _ relative: String, what: String) throws -> String {
        let parts = relative.split(separator: "/").map(String.init)
        guard !relative.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
            throw ImportError("\(what) '\(relative)' points outside the archive")
        }
        let fd: FileDescriptor
        do { fd = try OCILayout.openInside(dir, parts.joined(separator: "/")) } catch {
            throw ImportError("\(what) '\(relative)' cannot be opened inside the archive: \(error)")
        }
        var st = stat()
        guard fstat(fd.raw, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw ImportError("\(what) '\(relative)' is not a regular file")
        }
        return fd.path
    }
}
