import Foundation
import Glibc
import Synchronization

/// The drivers cowbench knows, looked up by spec, and whether each works here.
public enum DriverRegistry {
    /// What `compare` runs when no --drivers is given: the seed drivers,
    /// whose needs every host cowbench supports meets.
    public static let defaults: [any StorageDriver.Type] = [OverlayDriver.self, BtrfsDriver.self, CopyDriver.self]
    public static var all: [any StorageDriver.Type] {
        defaults + [ReflinkDriver.self, FuseOverlayDriver.self] + registered.withLock { $0 }
    }

    /// Drivers from modules the core does not link (containerd's, which
    /// brings gRPC), added once at start-up by whoever links them.
    private static let registered = Mutex<[any StorageDriver.Type]>([])

    /// Makes `driver` known by name, after the built-in ones. Registering
    /// one twice is harmless.
    public static func register(_ driver: any StorageDriver.Type) {
        registered.withLock { list in
            if !list.contains(where: { ObjectIdentifier($0) == ObjectIdentifier(driver) }) { list.append(driver) }
        }
    }

    public static var names: [String] { all.map { $0.name } }
    public static var defaultNames: [String] { defaults.map { $0.name } }

    public static func driver(named name: String) throws -> any StorageDriver.Type {
        guard let d = all.first(where: { $0.name == name }) else {
            throw SetupError("unknown driver '\(name)'; known drivers: \(names.joined(separator: ", "))")
        }
        return d
    }

    /// Splits a comma-separated list of specs, where a spec's own options
    /// are comma-separated too: `overlay,overlay:redirect_dir=on,index=on,btrfs`
    /// is three specs. A piece starts a new spec when it names a driver.
    public static func splitSpecs(_ list: String) -> [String] {
        var out: [String] = []
        for piece in list.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let head = piece.split(separator: ":", maxSplits: 1).first.map(String.init) ?? piece
            if names.contains(head) || out.isEmpty || !out[out.count - 1].contains(":") {
                out.append(piece)
            } else {
                out[out.count - 1] += "," + piece
            }
        }
        return out
    }

    /// The driver a spec names, with its options checked against the ones
    /// the driver declares. Creates nothing.
    public static func resolve(_ text: String) throws -> DriverChoice {
        let spec = try DriverSpec(parsing: text)
        let type = try driver(named: spec.name)
        for e in spec.options.entries {
            guard let info = type.options.first(where: { $0.key == e.key }) else {
                let known = type.options.map(\.usage)
                throw SetupError("driver \(spec.name) has no option '\(e.key)' (in '\(text)'); "
                    + (known.isEmpty ? "it takes none" : "it takes " + known.joined(separator: ", ")))
            }
            if let placeholder = info.placeholder {
                guard e.value != nil else {
                    throw SetupError("driver option \(e.key) in '\(text)' needs a value; write \(e.key)=\(placeholder)")
                }
                continue
            }
            if info.values.isEmpty, let v = e.value {
                throw SetupError("driver option \(e.key) is a bare flag, but '\(text)' gives it the value '\(v)'; write \(spec.name):\(e.key)")
            }
            if !info.values.isEmpty, !info.values.contains(e.value ?? "") {
                throw SetupError("driver option \(e.key) in '\(text)' takes \(info.values.joined(separator: " or ")), not '\(e.value ?? "")'")
            }
        }
        return DriverChoice(type, spec: spec)
    }

    /// Whether `driver` can run on this host, and if not, why and what to do.
    public static func availability(of driver: any StorageDriver.Type, options: DriverOptions = DriverOptions()) -> (works: Bool, reason: String) {
        if let problem = HostCheck.privilegeProblem() ?? HostCheck.rootProblem() { return (false, problem) }
        let caps = driver.capabilities(options)
        if let fs = caps.instanceFilesystem, !HostCheck.kernelHasFilesystem(fs) {
            return (false, "the kernel has no \(fs) filesystem (not in /proc/filesystems; try modprobe \(fs))")
        }
        for tool in caps.requiredTools where Command.find(tool) == nil {
            return (false, "\(tool) is missing; run scripts/setup.sh")
        }
        if let problem = caps.scratchFilesystem.hostProblem { return (false, problem) }
        if !FileSystem.exists("/dev/loop-control") {
            return (false, "/dev/loop-control is missing, so no loop-backed scratch filesystem can be made; pass --root")
        }
        return (true, "ok: scratch \(caps.scratchFilesystem.rawValue) on a loop device")
    }
}

/// A driver type with the options of one spec: what a run opens.
public struct DriverChoice: Sendable, CustomStringConvertible {
    public let type: any StorageDriver.Type
    public let spec: DriverSpec

    public init(_ type: any StorageDriver.Type, spec: DriverSpec? = nil) {
        self.type = type
        self.spec = spec ?? DriverSpec(name: type.name)
    }

    public var capabilities: DriverCapabilities { type.capabilities(spec.options) }
    public var description: String { spec.description }

    public func open(root: String, journal: ResourceJournal) throws -> any StorageDriver {
        try type.init(root: root, journal: journal, options: spec.options)
    }
}

/// Facts about the host that decide what can run.
public enum HostCheck {
    public static func kernelHasFilesystem(_ name: String) -> Bool {
        guard let text = try? FileSystem.read("/proc/filesystems") else { return false }
        return text.split(separator: "\n").contains { $0.split(separator: "\t").last.map(String.init) == name }
    }

    /// CAP_SYS_ADMIN is what mount, loop devices and snapshots need; root
    /// in a container may lack it, so check the capability, not the uid.
    public static func hasSysAdmin() -> Bool {
        guard let status = try? FileSystem.read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << 21) != 0
    }

    /// An instance's box makes its mounts private and pivots into the
    /// rootfs, and both need / to be a mount point; inside a plain chroot(8)
    /// it is not (the kernel says EINVAL). `mountinfo` lists only mounts
    /// reachable from this process's root, so / is there exactly when it is one.
    public static func rootProblem(mountinfo: String? = try? FileSystem.read("/proc/self/mountinfo")) -> String? {
        guard let mountinfo else { return nil }
        let isMount = mountinfo.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(4).first == "/" }
        return isMount ? nil : "/ is not a mount point here (a chroot?), so an instance's box can neither make its mounts private nor "
            + "pivot_root into its rootfs (EINVAL); bind-mount the chroot's directory onto itself before entering it "
            + "(mount --rbind DIR DIR), as arch-chroot does"
    }

    public static func privilegeProblem() -> String? {
        if geteuid() != 0 { return "cowbench must run as root (it mounts filesystems and attaches loop devices); try sudo" }
        if !hasSysAdmin() { return "this process lacks CAP_SYS_ADMIN, which mount and loop devices need (root in a container without it?)" }
        return nil
    }
}
