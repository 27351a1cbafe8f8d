import Foundation
import Glibc

/// Resolves an `--image` argument to layer directories, building built-in
/// images once into the state directory and reusing them afterwards.
///
/// - `busybox`: a real rootfs around the host's static busybox;
/// - `seed-demo`: the blog post's lower/upper example as two layers;
/// - `synthetic[:key=value,…]`: a deterministic generated image (see `SyntheticImage`);
/// - `dir:/a,/b,…`: existing layer directories in overlayfs format, bottom first;
/// - any other name: an image `cowbench image import` stored.
public struct ImageCatalog {
    public let directory: String
    private let journal: ResourceJournal?

    public static let builtins = ["busybox", "seed-demo", "synthetic"]

    /// Without a journal the catalog can look (`layerCount`, `list`) but not build.
    public init(stateDirectory: String, journal: ResourceJournal? = nil) {
        directory = stateDirectory + "/images"
        self.journal = journal
    }

    public func resolve(_ spec: String) throws -> ImageLayers {
        if spec.hasPrefix("dir:") {
            return ImageLayers(name: "dir-" + String(Hash.fnv1a(spec), radix: 16), layers: try Self.layerDirectories(spec))
        }
        let (kind, params) = try Self.split(spec)
        let builder: (String) throws -> Int
        let name: String
        switch kind {
        case "busybox":
            name = "busybox"
            builder = { try BusyboxImage.build(into: $0 + "/layers") }
        case "seed-demo":
            name = "seed-demo"
            builder = { try SeedDemoImage.build(into: $0 + "/layers") }
        case "synthetic":
            let s = try SyntheticImage(parameters: params)
            name = s.name
            builder = { try s.build(into: $0 + "/layers") }
        default:
            if Self.isValidName(spec), let layers = complete(spec) { return layers }
            throw unknown(spec)
        }
        return try cached(name, build: builder)
    }

    /// Layer paths of a built image, building it first if needed. Builds go to
    /// a temporary directory that is renamed into place when complete, so a
    /// crash never leaves a half-built image that looks finished.
    private func cached(_ name: String, build: (String) throws -> Int) throws -> ImageLayers {
        if let layers = complete(name) { return layers }
        return try buildAtomically(name, build)
    }

    /// The layers of a finished image in the state directory, if there is one.
    private func complete(_ name: String) -> ImageLayers? {
        let dir = directory + "/" + name
        guard let text = try? FileSystem.read(dir + "/complete"), let n = Int(text.split(separator: "\n").first ?? "") else { return nil }
        return ImageLayers(name: name, layers: (0..<n).map { dir + "/layers/\($0)" })
    }

    /// Builds into a hidden directory and renames it into place; a build that
    /// fails is removed, so a half-made image never looks finished.
    private func buildAtomically(_ name: String, _ build: (String) throws -> Int) throws -> ImageLayers {
        let dir = directory + "/" + name
        try FileSystem.createDirectories(directory)
        let tmp = directory + "/.\(name).building-\(getpid())"
        guard let journal else { throw SetupError("image \(name) is not built yet, and this catalog was opened only to look") }
        try journal.record(.directory(tmp))
        try TreeRemover.remove(tmp)
        let count: Int
        do {
            try FileSystem.createDirectories(tmp + "/layers")
            count = try build(tmp)
        } catch {
            try? TreeRemover.remove(tmp)
            try? journal.release(.directory(tmp))
            throw error
        }
        try FileSystem.write("\(count)\n", to: tmp + "/complete")
        if FileSystem.exists(dir) { try TreeRemover.remove(dir) }
        try FileSystem.rename(tmp, dir)
        try journal.release(.directory(tmp))
        return ImageLayers(name: name, layers: (0..<count).map { dir + "/layers/\($0)" })
    }

    /// How many layers `spec` has, without building or changing anything:
    /// the check a command makes before it creates its first resource.
    public func layerCount(_ spec: String) throws -> Int {
        if spec.hasPrefix("dir:") { return try Self.layerDirectories(spec).count }
        let (kind, params) = try Self.split(spec)
        switch kind {
        case "busybox": return 1
        case "seed-demo": return 2
        case "synthetic": return try SyntheticImage(parameters: params).layers
        default:
            if Self.isValidName(spec), let layers = complete(spec) { return layers.layers.count }
            throw unknown(spec)
        }
    }

    /// The directories of a `dir:/a,/b` spec, each checked to exist.
    private static func layerDirectories(_ spec: String) throws -> [String] {
        let dirs = spec.dropFirst(4).split(separator: ",").map(String.init)
        for d in dirs where !FileSystem.isDirectory(d) {
            throw SetupError("image layer directory \(d) does not exist or is not a directory")
        }
        guard !dirs.isEmpty else { throw SetupError("--image dir: needs at least one directory") }
        for d in dirs { try refuseOverlayMetadata(in: d) }
        return dirs
    }

    /// overlayfs follows `trusted.overlay.redirect`, `metacopy` and the rest
    /// where the btrfs and copy drivers see plain files, so the drivers
    /// would disagree about what the image holds: only the opaque marker of
    /// the layer format is accepted, as `image import` does.
    private static func refuseOverlayMetadata(in layer: String) throws {
        func walk(_ path: String) throws {
            for name in try Xattrs.names(path: path) where name.hasPrefix("trusted.overlay.") && name != TreeCopier.opaqueXattr {
                throw SetupError("image layer \(layer): \(path) carries \(name), which only overlayfs would follow; "
                    + "remove it (setfattr -x \(name)), or import the image with `cowbench image import`")
            }
            let st = try FileSystem.lstat(path)
            guard st.st_mode & S_IFMT == S_IFDIR else { return }
            for child in try FileSystem.list(path) { try walk(path + "/" + child) }
        }
        try walk(layer)
    }

    private func unknown(_ spec: String) -> SetupError {
        let imported = list().filter { $0.format != nil }.map(\.name)
        return SetupError("unknown image '\(spec)'; built-in images: \(Self.builtins.joined(separator: ", ")), dir:/layer0,/layer1"
            + (imported.isEmpty ? ", or one you add with `cowbench image import`" : ", or imported: \(imported.joined(separator: ", "))"))
    }

    /// Imports an image from outside under `name`, which must be new.
    public func importImage(_ importer: ImageImporter, name: String) throws -> ImageLayers {
        guard Self.isValidName(name) else {
            throw SetupError("image name '\(name)' must be 1-128 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit, "
                + "and not a built-in (\(Self.builtins.joined(separator: ", ")))")
        }
        guard !FileSystem.exists(directory + "/" + name) else {
            throw SetupError("image '\(name)' already exists; remove it with `cowbench image rm \(name)` or pass --name")
        }
        return try buildAtomically(name) { tmp in
            let (format, digests) = try importer.importLayers(into: tmp + "/layers", scratch: tmp + "/staging")
            if FileSystem.exists(tmp + "/staging") { try TreeRemover.remove(tmp + "/staging") }
            let count = try FileSystem.list(tmp + "/layers").count
            let record = ImageRecord(name: name, format: format, source: importer.source, layers: digests,
                                     imported: ISO8601DateFormatter().string(from: Date()))
            let json = try JSONEncoder().encode(record)
            try FileSystem.write(String(decoding: json, as: UTF8.self) + "\n", to: tmp + "/image.json")
            return count
        }
    }

    /// Every finished image in the state directory: imported ones and built-ins built so far.
    public func list() -> [ImageRecord] {
        let names = ((try? FileSystem.list(directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.compactMap { name in
            guard let layers = complete(name) else { return nil }
            if let text = try? FileSystem.read(directory + "/\(name)/image.json"),
               let r = try? JSONDecoder().decode(ImageRecord.self, from: Data(text.utf8)) {
                return r
            }
            return ImageRecord(name: name, format: nil, source: "built-in", layers: Array(repeating: "", count: layers.layers.count),
                               imported: nil)
        }
    }

    /// Removes a stored image (a built-in is built again when next used).
    public func remove(_ name: String) throws {
        guard Self.isValidName(name) || Self.builtins.contains(name), complete(name) != nil || FileSystem.exists(directory + "/" + name) else {
            throw SetupError("no image named '\(name)' in \(directory)")
        }
        try TreeRemover.remove(directory + "/" + name)
    }

    static func isValidName(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard let first = name.first, first.isLetter || first.isNumber, name.count <= 128 else { return false }
        return name.allSatisfy { allowed.contains($0) } && !builtins.contains(name)
    }

    static func split(_ spec: String) throws -> (String, [String: String]) {
        guard let colon = spec.firstIndex(of: ":") else { return (spec, [:]) }
        var params: [String: String] = [:]
        for pair in spec[spec.index(after: colon)...].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard params[kv[0]] == nil else { throw SetupError("image \(spec): \(kv[0]) is given twice; give each parameter once") }
            params[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return (String(spec[..<colon]), params)
    }

    /// About how many bytes the image holds, where that is known before
    /// building it (synthetic images); nil otherwise.
    public func estimatedBytes(_ spec: String) throws -> Double? {
        let (kind, params) = try Self.split(spec)
        guard kind == "synthetic" else { return nil }
        return try SyntheticImage(parameters: params).estimatedBytes
    }
}

/// What the state directory knows of a stored image.
public struct ImageRecord: Codable, Sendable {
    public var name: String
    /// nil for built-in images.
    public var format: ImageImporter.Format?
    public var source: String
    /// Layer digests, bottom first (empty strings where unknown).
    public var layers: [String]
    public var imported: String?
}

/// FNV-1a: a stable, dependency-free hash for names derived from arguments.
enum Hash {
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
