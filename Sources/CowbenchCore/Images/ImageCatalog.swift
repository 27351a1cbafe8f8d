import Glibc

/// Resolves an `--image` argument to layer directories, building built-in
/// images once into the state directory and reusing them afterwards.
///
/// - `busybox`: a real rootfs around the host's static busybox;
/// - `seed-demo`: the blog post's lower/upper example as two layers;
/// - `synthetic[:key=value,…]`: a deterministic generated image (see `SyntheticImage`);
/// - `dir:/a,/b,…`: existing layer directories in overlayfs format, bottom first.
public struct ImageCatalog {
    public let directory: String
    private let journal: ResourceJournal

    public static let builtins = ["busybox", "seed-demo", "synthetic"]

    public init(stateDirectory: String, journal: ResourceJournal) {
        directory = stateDirectory + "/images"
        self.journal = journal
    }

    public func resolve(_ spec: String) throws -> ImageLayers {
        if spec.hasPrefix("dir:") {
            let dirs = spec.dropFirst(4).split(separator: ",").map(String.init)
            for d in dirs where !FileSystem.isDirectory(d) {
                throw SetupError("image layer directory \(d) does not exist or is not a directory")
            }
            guard !dirs.isEmpty else { throw SetupError("--image dir: needs at least one directory") }
            return ImageLayers(name: "dir-" + String(Hash.fnv1a(spec), radix: 16), layers: dirs)
        }
        let (kind, params) = Self.split(spec)
        let builder: (String) throws -> Int
        let name: String
        switch kind {
        case "busybox":
            name = "busybox"
            builder = { try BusyboxImage.build(into: $0) }
        case "seed-demo":
            name = "seed-demo"
            builder = { try SeedDemoImage.build(into: $0) }
        case "synthetic":
            let s = try SyntheticImage(parameters: params)
            name = s.name
            builder = { try s.build(into: $0) }
        default:
            throw SetupError("unknown image '\(spec)'; built-in images: \(Self.builtins.joined(separator: ", ")), or dir:/layer0,/layer1")
        }
        return try cached(name, build: builder)
    }

    /// Layer paths of a built image, building it first if needed. Builds go to
    /// a temporary directory that is renamed into place when complete, so a
    /// crash never leaves a half-built image that looks finished.
    private func cached(_ name: String, build: (String) throws -> Int) throws -> ImageLayers {
        let dir = directory + "/" + name
        let marker = dir + "/complete"
        if let text = try? FileSystem.read(marker), let n = Int(text.split(separator: "\n").first ?? "") {
            return ImageLayers(name: name, layers: (0..<n).map { dir + "/layers/\($0)" })
        }
        try FileSystem.createDirectories(directory)
        let tmp = directory + "/.\(name).building-\(getpid())"
        try journal.record(.directory(tmp))
        try TreeRemover.remove(tmp)
        try FileSystem.createDirectories(tmp + "/layers")
        let count = try build(tmp + "/layers")
        try FileSystem.write("\(count)\n", to: tmp + "/complete")
        if FileSystem.exists(dir) { try TreeRemover.remove(dir) }
        try FileSystem.rename(tmp, dir)
        try journal.release(.directory(tmp))
        return ImageLayers(name: name, layers: (0..<count).map { dir + "/layers/\($0)" })
    }

    static func split(_ spec: String) -> (String, [String: String]) {
        guard let colon = spec.firstIndex(of: ":") else { return (spec, [:]) }
        var params: [String: String] = [:]
        for pair in spec[spec.index(after: colon)...].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            params[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        return (String(spec[..<colon]), params)
    }
}

/// FNV-1a: a stable, dependency-free hash for names derived from arguments.
enum Hash {
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
