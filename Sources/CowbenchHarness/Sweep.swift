import CowbenchCore

/// How each cost grows: the same drivers run at every point of one or more
/// parameters (their cross product, as hyperfine's parameter lists), each
/// point on fresh scratch filesystems.
public enum Sweep {
    /// One parameter and the values it takes.
    public struct Parameter: Sendable, Equatable {
        public var name: String
        public var values: [String]
        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// A point of the sweep: one value per parameter, in the order given.
    public typealias Point = [(name: String, value: String)]

    /// `layers`, `files` and `size` reshape a synthetic image; `parallel` is
    /// instances in flight; `live` keeps that many instances alive.
    public static let names = ["layers", "files", "size", "parallel", "live"]

    /// Parses `NAME=v1,v2,…`.
    public static func parameter(_ text: String) throws -> Parameter {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { throw SetupError("--param '\(text)' wants NAME=v1,v2,… (e.g. layers=1,100,500)") }
        guard names.contains(parts[0]) else {
            throw SetupError("--param \(parts[0]) is not a sweep parameter; choose one of \(names.joined(separator: ", "))")
        }
        let values = parts[1].split(separator: ",").map(String.init)
        for v in values {
            let ok = parts[0] == "size" ? ByteSize.parse(v) != nil : Int(v).map { $0 >= 1 } ?? false
            guard ok else { throw SetupError("--param \(parts[0])=\(parts[1]): '\(v)' is not \(parts[0] == "size" ? "a size like 16k" : "a whole number of at least 1")") }
        }
        return Parameter(name: parts[0], values: values)
    }

    /// Every combination, the first parameter varying slowest.
    public static func points(_ parameters: [Parameter]) -> [Point] {
        parameters.reduce([[]]) { partial, p in partial.flatMap { point in p.values.map { point + [(p.name, $0)] } } }
    }

    /// `c` at `point`.
    public static func apply(_ point: Point, to base: RunConfiguration) throws -> RunConfiguration {
        var c = base
        for (name, value) in point {
            switch name {
            case "layers", "files", "size":
                c.image = try reshape(c.image, key: name == "size" ? "sizes" : name, value: value)
            case "parallel":
                c.parallel = Int(value) ?? 1
            case "live":
                c.keep = true
                c.instances = Int(value) ?? 1
            default:
                throw SetupError("--param \(name) is not a sweep parameter")
            }
        }
        return c
    }

    /// A synthetic image spec with `key` set; the default busybox image is
    /// taken as synthetic on busybox.
    static func reshape(_ image: String, key: String, value: String) throws -> String {
        guard image == "busybox" || image == "synthetic" || image.hasPrefix("synthetic:") else {
            throw SetupError("--param \(key == "sizes" ? "size" : key) reshapes a synthetic image, not \(image); "
                + "pass --image synthetic:… or leave --image out")
        }
        var pairs = image.hasPrefix("synthetic:") ? image.dropFirst("synthetic:".count).split(separator: ",").map(String.init) : []
        pairs.removeAll { $0.hasPrefix(key + "=") }
        pairs.append("\(key)=\(value)")
        return "synthetic:" + pairs.joined(separator: ",")
    }
}
