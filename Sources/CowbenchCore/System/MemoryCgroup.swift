import Glibc

/// A memory cgroup cowbench made for a run or for one instance, on cgroup
/// v2 where the memory controller sits on the unified hierarchy and on the
/// v1 memory hierarchy where it does not (hosts that mount both exist: this
/// one has v1 memory beside a v2 hierarchy without controllers).
///
/// A run's cgroup holds two kinds of children: `tool`, which cowbench itself
/// joins for the run, so the page cache its drivers write at create (a copy's
/// files) is charged inside the run; and one child per instance, which that
/// instance's process joins before execve. v2 allows processes only in
/// leaves once controllers are enabled below, so the run's own cgroup stays
/// empty on both versions.
public struct MemoryCgroup: Sendable, Equatable {
    public enum Version: String, Sendable { case v1, v2 }

    public let path: String
    public let version: Version

    /// Where the memory controller is mounted, or nil if it is nowhere.
    public static func hierarchy(mounts: [Mounts.Entry] = Mounts.table()) -> (mount: String, version: Version)? {
        for m in mounts where m.fsType == "cgroup2" {
            let controllers = (try? FileSystem.read(m.mountPoint + "/cgroup.controllers")) ?? ""
            if controllers.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory") { return (m.mountPoint, .v2) }
        }
        for m in mounts where m.fsType == "cgroup" && m.options.split(separator: ",").contains("memory") {
            return (m.mountPoint, .v1)
        }
        return nil
    }

    /// Whether `path` can be a cgroup of cowbench's: a directory named
    /// `cowbench-…`, or below one, inside a cgroup hierarchy. `cleanup` uses
    /// this to refuse a journal that names any other cgroup.
    public static func isCowbenchs(_ path: String) -> Bool {
        guard let h = hierarchy(), path.hasPrefix(h.mount + "/") else { return false }
        let first = path.dropFirst(h.mount.count + 1).split(separator: "/").first ?? ""
        return first.hasPrefix("cowbench-") && !path.split(separator: "/").contains("..")
    }

    /// Makes the run's cgroup `cowbench-<name>` at the top of the memory
    /// hierarchy (outside systemd's slices, whose cgroups hold processes and
    /// so cannot hand the memory controller down on v2), recorded first.
    public static func makeRun(_ name: String, journal: ResourceJournal) throws -> MemoryCgroup {
        guard let h = hierarchy() else {
            throw SetupError("no memory cgroup controller is mounted (neither v2 with memory in cgroup.controllers nor a v1 memory hierarchy)")
        }
        if h.version == .v2 {
            // The top cgroup must hand memory down, or the run's has no memory.stat.
            let handed = (try? FileSystem.read(h.mount + "/cgroup.subtree_control")) ?? ""
            guard handed.split(whereSeparator: { $0 == " " || $0 == "\n" }).contains("memory") else {
                throw SetupError("\(h.mount)/cgroup.subtree_control does not enable memory, so cowbench's cgroups would have no "
                    + "memory controller; enable it (echo +memory > \(h.mount)/cgroup.subtree_control) or pass --no-memory")
            }
        }
        let run = try make(h.mount + "/cowbench-" + name, version: h.version, journal: journal)
        if h.version == .v2 {
            try FileSystem.write("+memory", to: run.path + "/cgroup.subtree_control")
        }
        return run
    }

    /// Makes a child cgroup `name` of this one, recorded first.
    public func child(_ name: String, journal: ResourceJournal) throws -> MemoryCgroup {
        try Self.make(path + "/" + name, version: version, journal: journal)
    }

    private static func make(_ path: String, version: Version, journal: ResourceJournal) throws -> MemoryCgroup {
        try journal.record(.cgroup(path))
        do {
            try FileSystem.mkdir(path)
        } catch let e as SyscallError where e.errno == EEXIST {}
        return MemoryCgroup(path: path, version: version)
    }

    /// The file a process writes a PID (or "0", itself) to, to join.
    public var procsFile: String { path + "/cgroup.procs" }

    /// Moves this whole process (every thread) into the cgroup.
    public func join() throws {
        try FileSystem.write("\(getpid())", to: procsFile)
    }

    /// Moves another process (every thread of it) into the cgroup. Pages it
    /// was charged before stay where they were; what it allocates from now on
    /// is charged here.
    public func admit(_ pid: pid_t) throws {
        try FileSystem.write("\(pid)", to: procsFile)
    }

    /// Moves this process back to the cgroup it was in on this hierarchy
    /// before, per /proc/self/cgroup read at `origin()`.
    public static func rejoin(_ origin: String) throws {
        try FileSystem.write("\(getpid())", to: origin + "/cgroup.procs")
    }

    /// This process's cgroup on the memory hierarchy, as a path.
    public static func origin() -> String? {
        guard let h = hierarchy(), let text = try? FileSystem.read("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let matches = h.version == .v2 ? f[0] == "0" && f[1].isEmpty : f[1].split(separator: ",").contains("memory")
            if matches { return h.mount + (f[2] == "/" ? "" : String(f[2])) }
        }
        return nil
    }

    /// What is charged to a cgroup and its descendants: user memory (anonymous
    /// pages plus page cache) from memory.stat, which is exact, unlike
    /// memory.current and usage_in_bytes, which include per-CPU charge
    /// batches. Kernel memory (slab, page tables) is left out on both
    /// versions, because v1 does not report it in memory.stat.
    public struct Charge: Sendable, Equatable {
        public var anonymous: Int64
        public var pageCache: Int64
        public var total: Int64 { anonymous + pageCache }
    }

    public func charge() throws -> Charge {
        var stat: [Substring: Int64] = [:]
        for line in try FileSystem.read(path + "/memory.stat").split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2, let v = Int64(f[1]) { stat[f[0]] = v }
        }
        // v1's unprefixed counters are this cgroup's own; total_* include
        // its descendants, as v2's always do.
        switch version {
        case .v2: return Charge(anonymous: stat["anon"] ?? 0, pageCache: stat["file"] ?? 0)
        case .v1: return Charge(anonymous: stat["total_rss"] ?? 0, pageCache: stat["total_cache"] ?? 0)
        }
    }

    /// Removes a cgroup: any process still in it is one of an instance's
    /// (only they and cowbench join cowbench's cgroups) and is killed first;
    /// rmdir is retried briefly, because a killed process leaves its cgroup
    /// a moment after it is reaped. A missing cgroup is a no-op.
    public static func remove(_ path: String) throws {
        guard FileSystem.exists(path) else { return }
        for attempt in 0..<200 {
            let procs = ((try? FileSystem.read(path + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { pid_t($0) }
            for pid in procs where pid != getpid() { kill(pid, SIGKILL) }
            if Glibc.rmdir(path) == 0 || errno == ENOENT { return }
            let e = errno
            guard e == EBUSY || e == EINTR, attempt < 199 else { throw SyscallError("rmdir", path: path, errno: e,
                hint: "a process is still in this cgroup; see \(path)/cgroup.procs") }
            usleep(5_000)
        }
    }
}
