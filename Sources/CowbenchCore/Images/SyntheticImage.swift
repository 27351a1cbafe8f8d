import Glibc

/// A generated image, the same bytes every time for the same parameters, so
/// large images (25 layers, hundreds of MB) can be made offline and compared
/// across hosts.
///
/// `synthetic:layers=25,files=200,sizes=1k:60/16k:30/1m:10,depth=3,seed=1`
/// - `layers`: total layers, including the busybox base unless `base=none`;
/// - `files`: new files per generated layer;
/// - `sizes`: size:percent pairs separated by `/`, adding up to 100, or one size;
/// - `depth`: maximum directory depth under `/data`;
/// - `delete`, `overwrite`: percent of existing generated files each layer
///   deletes (whiteouts) or rewrites;
/// - `seed`: the generator's seed.
public struct SyntheticImage: Sendable {
    public var layers = 5
    public var files = 100
    public var sizes: [(bytes: Int, weight: Int)] = [(1 << 10, 60), (16 << 10, 30), (1 << 20, 10)]
    public var depth = 3
    public var deletePercent = 5
    public var overwritePercent = 5
    public var seed: UInt64 = 1
    public var busyboxBase = true

    public init(parameters: [String: String]) throws {
        for (key, value) in parameters {
            func int() throws -> Int {
                guard let v = Int(value), v >= 0 else { throw SetupError("synthetic image: \(key)=\(value) is not a non-negative integer") }
                return v
            }
            switch key {
            case "layers": layers = try int()
            case "files": files = try int()
            case "depth": depth = max(1, try int())
            case "delete", "overwrite":
                let v = try int()
                guard v <= 100 else { throw SetupError("synthetic image: \(key)=\(v) is a percent, at most 100") }
                if key == "delete" { deletePercent = v } else { overwritePercent = v }
            case "seed": seed = UInt64(try int())
            case "base":
                guard value == "busybox" || value == "none" else { throw SetupError("synthetic image: base must be busybox or none") }
                busyboxBase = value == "busybox"
            case "sizes":
                // A lone size ("sizes=1m") is every file at that size.
                sizes = try value.split(separator: "/").map { pair in
                    let p = pair.split(separator: ":")
                    guard p.count <= 2, let b = ByteSize.parse(String(p[0])), let w = p.count == 2 ? Int(p[1]) : 100, w > 0 else {
                        throw SetupError("synthetic image: sizes wants size:percent pairs like 1k:60/16k:30/1m:10, or one size, not \(value)")
                    }
                    return (Int(b), w)
                }
                let sum = sizes.reduce(0) { $0 + $1.weight }
                guard sum == 100 else {
                    throw SetupError("synthetic image: the weights in sizes=\(value) are percents and add up to \(sum), not 100")
                }
            default:
                throw SetupError("synthetic image: unknown parameter '\(key)' (layers, files, sizes, depth, delete, overwrite, seed, base)")
            }
        }
        guard layers >= 1 else { throw SetupError("synthetic image: layers must be at least 1") }
    }

    /// A directory-safe name that changes with every parameter.
    public var name: String {
        let canon = "\(layers)|\(files)|\(sizes.map { "\($0.bytes):\($0.weight)" })|\(depth)|\(deletePercent)|\(overwritePercent)|\(seed)|\(busyboxBase)"
        return "synthetic-l\(layers)-f\(files)-" + String(Hash.fnv1a(canon) & 0xffff_ffff, radix: 16)
    }

    @discardableResult
    public func build(into directory: String) throws -> Int {
        var rng = SplitMix64(seed: seed)
        var first = 0
        if busyboxBase {
            try BusyboxImage.build(into: directory)
            first = 1
        }
        var existing: [String] = []
        let totalWeight = sizes.reduce(0) { $0 + $1.weight }
        for layer in first..<layers {
            let root = directory + "/\(layer)"
            try FileSystem.mkdir(root)
            let deletions = existing.count * deletePercent / 100
            for _ in 0..<deletions {
                let victim = existing.remove(at: Int(rng.next() % UInt64(existing.count)))
                try FileSystem.createDirectories(Path.parent(root + "/" + victim))
                try FileSystem.makeWhiteout(root + "/" + victim)
            }
            for _ in 0..<(existing.count * overwritePercent / 100) {
                let target = existing[Int(rng.next() % UInt64(existing.count))]
                if FileSystem.exists(root + "/" + target) { continue }
                try FileSystem.createDirectories(Path.parent(root + "/" + target))
                try write(root + "/" + target, size: pickSize(&rng, totalWeight), rng: &rng)
            }
            for n in 0..<files {
                try StopRequest.check("generating layer \(layer) of \(name)")
                var rel = "data"
                for _ in 0..<(1 + Int(rng.next() % UInt64(depth))) { rel += "/d\(rng.next() % 4)" }
                rel += "/l\(layer)-f\(n)"
                try FileSystem.createDirectories(Path.parent(root + "/" + rel))
                try write(root + "/" + rel, size: pickSize(&rng, totalWeight), rng: &rng)
                existing.append(rel)
            }
        }
        return max(layers, first)
    }

    private func pickSize(_ rng: inout SplitMix64, _ total: Int) -> Int {
        var r = Int(rng.next() % UInt64(total))
        for s in sizes {
            if r < s.weight { return s.bytes }
            r -= s.weight
        }
        return sizes.last!.bytes
    }

    /// Streams the file a MiB at a time, so a huge size costs disk, not
    /// memory; the generator's words come out in the same order as ever,
    /// so images stay byte-identical for the same parameters.
    private func write(_ path: String, size: Int, rng: inout SplitMix64) throws {
        let fd = try FileDescriptor(path, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        var words = [UInt64](repeating: 0, count: 1 << 17)
        var left = size
        while left > 0 {
            try StopRequest.check("generating \(path)")
            let chunk = min(left, words.count * 8)
            for i in 0..<((chunk + 7) / 8) { words[i] = rng.next() }
            try FileSystem.writeAll(words.withUnsafeBytes { Array($0.prefix(chunk)) }, to: fd)
            left -= chunk
        }
    }

    /// About how many bytes the generated layers hold: every layer's new
    /// files at the mean size, plus its rewrites. A refusal up front uses
    /// it, so an image that cannot fit fails with numbers, not half-way.
    public var estimatedBytes: Double {
        let total = Double(sizes.reduce(0) { $0 + $1.weight })
        let mean = sizes.reduce(0.0) { $0 + Double($1.bytes) * Double($1.weight) } / total
        let generated = Double(max(0, layers - (busyboxBase ? 1 : 0)))
        return generated * Double(files) * mean * (1 + Double(overwritePercent) / 100)
    }
}

/// The SplitMix64 generator: tiny, fast and the same on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
