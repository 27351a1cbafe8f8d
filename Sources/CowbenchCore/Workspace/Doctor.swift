import CArchive
import Glibc

/// `cowbench doctor`: what this host has and lacks for each driver, a line
/// per check with what to do. The checks are a pure function of `HostFacts`,
/// so tests can simulate a host that lacks something.
public enum Doctor {
    public enum Status: String, Sendable { case ok, warn, fail }

    public struct Check: Sendable {
        public let name: String
        public let status: Status
        public let detail: String

        public init(name: String, status: Status, detail: String) {
            self.name = name
            self.status = status
            self.detail = detail
        }
    }

    /// What the checks look at, gathered from the real host by `gather`.
    public struct HostFacts: Sendable {
        public var privilegeProblem: String?
        public var kernelFilesystems: Set<String>
        public var loopControl: Bool
        public var attachedLoops: Int
        /// Tool name to its path, nil when missing.
        public var tools: [String: String?]
        public var busyboxProblem: String?
        public var libarchive: String
        public var stateDirectory: String
        public var stateProblem: String?
        public var stateFilesystem: String
        public var stateAvailable: UInt64?
        public var leftovers: Int

        public init(privilegeProblem: String? = nil, kernelFilesystems: Set<String>, loopControl: Bool, attachedLoops: Int,
                    tools: [String: String?], busyboxProblem: String? = nil, libarchive: String, stateDirectory: String,
                    stateProblem: String? = nil, stateFilesystem: String, stateAvailable: UInt64?, leftovers: Int) {
            self.privilegeProblem = privilegeProblem
            self.kernelFilesystems = kernelFilesystems
            self.loopControl = loopControl
            self.attachedLoops = attachedLoops
            self.tools = tools
            self.busyboxProblem = busyboxProblem
            self.libarchive = libarchive
            self.stateDirectory = stateDirectory
            self.stateProblem = stateProblem
            self.stateFilesystem = stateFilesystem
            self.stateAvailable = stateAvailable
            self.leftovers = leftovers
        }

        public static func gather(stateDirectory: String) -> HostFacts {
            let filesystems = Set(((try? FileSystem.read("/proc/filesystems")) ?? "").split(separator: "\n")
                .compactMap { $0.split(separator: "\t").last.map(String.init) })
            let loops = ((try? FileSystem.list("/sys/block")) ?? []).filter {
                $0.hasPrefix("loop") && FileSystem.exists("/sys/block/\($0)/loop/backing_file")
            }
            var existing = stateDirectory
            while !FileSystem.exists(existing) && existing != "/" { existing = Path.parent(existing) }
            let fs = try? FileSystem.statfs(existing)
            var stateProblem: String?
            do { try Preflight.requireWritable(stateDirectory, flag: "--state-dir") } catch { stateProblem = "\(error)" }
            var busyboxProblem: String?
            do { _ = try BusyboxImage.hostBinary() } catch { busyboxProblem = "\(error)" }
            return HostFacts(privilegeProblem: HostCheck.privilegeProblem(), kernelFilesystems: filesystems,
                             loopControl: FileSystem.exists("/dev/loop-control"), attachedLoops: loops.count,
                             tools: Dictionary(uniqueKeysWithValues: Doctor.tools.map { ($0.name, Command.find($0.name)) }),
                             busyboxProblem: busyboxProblem, libarchive: String(cString: archive_version_string()),
                             stateDirectory: stateDirectory, stateProblem: stateProblem, stateFilesystem: fs?.typeName ?? "?",
                             stateAvailable: fs?.availableBytes, leftovers: Cleanup.leftovers(stateDirectory).count)
        }
    }

    /// Host tools, what needs them, and whether missing one is fatal.
    /// Drivers that use something (with no options given), for "needed for" lines.
    static func users(_ uses: (DriverCapabilities) -> Bool) -> String {
        DriverRegistry.all.filter { uses($0.capabilities) }.map { $0.name }.joined(separator: ", ")
    }

    /// mkfs for every scratch kind and every driver's own tools, from the
    /// kinds and capabilities themselves; a kind no default spec needs warns.
    static var tools: [(name: String, neededBy: String, required: Bool, setup: String)] {
        let kinds = ScratchFilesystem.Kind.allCases.map { k in
            (k.mkfsArguments[0], "scratch \(k.rawValue) for \(users { $0.scratchFilesystem == k })",
             DriverRegistry.defaults.contains { $0.capabilities.scratchFilesystem == k }, "scripts/setup.sh")
        }
        let own = Set(DriverRegistry.all.flatMap { $0.capabilities.requiredTools }).sorted().map { tool in
            (tool, "the \(users { $0.requiredTools.contains(tool) }) driver", false, "scripts/setup.sh")
        }
        return kinds + own + fixedTools
    }

    static let fixedTools: [(name: String, neededBy: String, required: Bool, setup: String)] = [
        ("btrfs", "the shell loop of `cowbench baseline`", false, "scripts/setup.sh"),
        ("unshare", "the shell loop of `cowbench baseline`", false, "scripts/setup.sh"),
        ("chroot", "the shell loop of `cowbench baseline`", false, "scripts/setup.sh"),
        ("umoci", "the tests that read an OCI layout another tool wrote", false, "scripts/setup.sh --tests"),
        ("chromium", "the test that opens the HTML report in a browser", false, "scripts/setup.sh --tests"),
    ]

    public static func checks(_ h: HostFacts) -> [Check] {
        var out: [Check] = []
        out.append(h.privilegeProblem.map { Check(name: "privileges", status: .fail, detail: $0) }
            ?? Check(name: "privileges", status: .ok, detail: "root with CAP_SYS_ADMIN"))
        let mounted = Set(DriverRegistry.all.compactMap { $0.capabilities.instanceFilesystem })
            .sorted().map { fs in (fs, "\(users { $0.instanceFilesystem == fs }) driver",
                                   DriverRegistry.defaults.contains { $0.capabilities.instanceFilesystem == fs }) }
        let scratch = ScratchFilesystem.Kind.allCases.map { k in
            (k.rawValue, "scratch \(k.rawValue) for \(users { $0.scratchFilesystem == k })",
             DriverRegistry.defaults.contains { $0.capabilities.scratchFilesystem == k })
        }
        for (fs, driver, required) in mounted + scratch {
            out.append(h.kernelFilesystems.contains(fs)
                ? Check(name: "kernel: \(fs)", status: .ok, detail: "in /proc/filesystems")
                : Check(name: "kernel: \(fs)", status: required ? .fail : .warn,
                        detail: "not in /proc/filesystems, so the \(driver) cannot work; try `modprobe \(fs)` or a kernel with it"))
        }
        out.append(h.loopControl
            ? Check(name: "loop devices", status: .ok, detail: "/dev/loop-control present, \(h.attachedLoops) loop devices attached")
            : Check(name: "loop devices", status: .fail,
                    detail: "/dev/loop-control is missing, so no scratch filesystem can be made; `modprobe loop`, or pass --root"))
        for t in tools {
            if let path = h.tools[t.name] ?? nil {
                out.append(Check(name: "tool: \(t.name)", status: .ok, detail: path))
            } else {
                out.append(Check(name: "tool: \(t.name)", status: t.required ? .fail : .warn,
                                 detail: "missing; needed for \(t.neededBy); run \(t.setup)"))
            }
        }
        out.append(h.busyboxProblem.map { Check(name: "busybox image", status: .fail, detail: $0) }
            ?? Check(name: "busybox image", status: .ok, detail: "static busybox found"))
        out.append(Check(name: "libraries", status: .ok, detail: "\(h.libarchive); libbtrfsutil linked"))
        if let p = h.stateProblem {
            out.append(Check(name: "state directory", status: .fail, detail: p))
        } else {
            let free = h.stateAvailable.map { ByteSize.format(Double($0)) } ?? "?"
            let low = (h.stateAvailable ?? 0) < 2 << 30
            let tmpfs = h.stateFilesystem == "tmpfs"
            out.append(Check(name: "state directory", status: low || tmpfs ? .warn : .ok,
                             detail: "\(h.stateDirectory) on \(h.stateFilesystem), \(free) free"
                                 + (low ? "; scratch images grow as runs write, keep at least 2 GiB free" : "")
                                 + (tmpfs ? "; on tmpfs the scratch images live in RAM" : "")))
        }
        out.append(h.leftovers == 0
            ? Check(name: "leftovers", status: .ok, detail: "no unfinished runs in \(h.stateDirectory)")
            : Check(name: "leftovers", status: .warn,
                    detail: "\(h.leftovers) unfinished run\(h.leftovers == 1 ? "" : "s") left resources; run `cowbench cleanup`"))
        return out
    }
}
