import Glibc

/// Where drivers keep things under their root: `images/NAME` and
/// `instances/ID`. Shared so every driver, in this module or another, lays
/// out the same way.
public enum DriverLayout {
    /// Makes `images/` and `instances/` under `root`, journaled.
    public static func prepareRoot(_ root: String, journal: ResourceJournal) throws {
        guard FileSystem.isDirectory(root) else {
            throw SyscallError("stat", path: root, errno: ENOENT, hint: "the driver root must be an existing directory")
        }
        for sub in ["images", "instances"] where !FileSystem.isDirectory(root + "/" + sub) {
            try journal.record(.directory(root + "/" + sub))
            try FileSystem.mkdir(root + "/" + sub, mode: 0o700)
        }
    }

    /// Makes `images/NAME`, journaled; an image already there is an error.
    public static func makeImageDirectory(_ root: String, _ name: String, journal: ResourceJournal) throws -> String {
        let dir = root + "/images/" + name
        if FileSystem.exists(dir) {
            throw DriverError("image \(name) is already prepared at \(dir); remove it first")
        }
        try journal.record(.directory(dir))
        try FileSystem.mkdir(dir, mode: 0o755)
        return dir
    }

    public static func instancePath(_ root: String, _ id: String) -> String { root + "/instances/" + id }

    /// Copies each layer, still in overlay's on-disk format, to
    /// `images/NAME/0…N-1`, for the drivers that stack them (overlay, FUSE).
    static func copyLayers(_ image: ImageLayers, root: String, journal: ResourceJournal) throws -> PreparedImage.Draft {
        let dir = try makeImageDirectory(root, image.name, journal: journal)
        for (i, layer) in image.layers.enumerated() {
            try FileSystem.mkdir(dir + "/\(i)")
            try TreeCopier.copyContents(of: layer, into: dir + "/\(i)")
        }
        return .init(path: dir, layerCount: image.layers.count)
    }

    /// The layer directories of a prepared image, top first, as lowerdir wants them.
    static func lowers(_ image: PreparedImage) -> [String] {
        (0..<image.layerCount).reversed().map { image.path + "/\($0)" }
    }
}
