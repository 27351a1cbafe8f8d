import CowbenchCore
import Glibc

/// One instance's life, timed phase by phase. Measuring (statfs, flushes,
/// usage walks, btrfs space) happens between phases, never inside one, and
/// only on space probes.
struct InstanceRunner: @unchecked Sendable {
    let driver: any StorageDriver
    let image: PreparedImage
    let argv: [String]
    /// The workload's host-side step (`Workload.hostStep`), run after
    /// create and before start, and timed into `run`.
    let hostStep: (@Sendable (String) throws -> Void)?
    let root: String
    let btrfs: Bool
    let isolation: Isolation
    /// The run's memory cgroup: each instance gets a child of it.
    let memory: MemoryCgroup?
    let journal: ResourceJournal?
    /// Drop every cache between each instance's create and start (outside the timers).
    let cold: Bool
    private let null: FileDescriptor

    init(driver: any StorageDriver, image: PreparedImage, argv: [String], root: String, btrfs: Bool,
         isolation: Isolation = .container, memory: MemoryCgroup? = nil, journal: ResourceJournal? = nil,
         cold: Bool = false, hostStep: (@Sendable (String) throws -> Void)? = nil) throws {
        self.hostStep = hostStep
        self.isolation = isolation
        self.memory = memory
        self.journal = journal
        self.cold = cold
        self.driver = driver
        self.image = image
        self.argv = argv
        self.root = root
        self.btrfs = btrfs
        null = try FileDescriptor("/dev/null", flags: O_RDWR)
    }

    /// What running one instance gave: its result, the live instance when
    /// `keep` is set and it survived, and the seconds spent measuring, which
    /// the block's wall time leaves out.
    struct Outcome {
        var result: InstanceResult
        var kept: Instance?
        var measuringSeconds = 0.0
        /// A stop request cut a long create short: not a failure of the
        /// driver, so the instance is neither counted nor written.
        var stopped = false
    }

    /// A probe first settles the driver, so the "before" figure already holds
    /// every earlier instance's deferred frees, and flushes the filesystem
    /// after the workload, so ext4's delayed allocation and btrfs's
    /// writeback have landed in the "after" figure. The caller makes sure
    /// no other instance is in flight meanwhile.
    func run(index: Int, id: String, round: Int, keep: Bool, probe: Bool) -> Outcome {
        var out = Outcome(result: InstanceResult(index: index))
        out.result.round = round
        out.result.probe = probe
        var before: FilesystemStats?
        var memoryBefore: Int64?
        var t = Clock.now()
        if probe {
            do {
                try driver.settle()
                before = try FileSystem.statfs(root)
            } catch {
                Diagnostics.warn("space probe \(id): \(error)")
            }
        }
        // The instance's cgroup is the harness's instrument, not the
        // driver's work: made outside the timers (the child's join is in start).
        var cgroup: MemoryCgroup?
        var procs: FileDescriptor?
        if let memory, let journal {
            do {
                let cg = try memory.child(id, journal: journal)
                cgroup = cg
                procs = try FileDescriptor(cg.procsFile, flags: O_WRONLY)
                if probe { memoryBefore = try memory.charge().total }
            } catch {
                out.result.error = PhaseError(phase: .create, message: "memory cgroup for \(id): \(error)")
                if let cgroup { removeCgroup(cgroup.path) }
                return out
            }
        }
        out.measuringSeconds += Clock.since(t)
        t = Clock.now()
        let instance: Instance
        do {
            instance = try driver.create(id: id, from: image)
            out.result.create = Clock.since(t)
        } catch is Stopped {
            out.stopped = true
            if let cgroup { removeCgroup(cgroup.path) }
            return out
        } catch {
            out.result.error = PhaseError(phase: .create, error)
            if let cgroup { removeCgroup(cgroup.path) }
            return out
        }
        if cold {
            // After create, so a copy's freshly written files are read back from disk too.
            let t = Clock.now()
            do { try CacheDrop.dropAll() } catch { Diagnostics.warn("--cold before \(id): \(error)") }
            // What create cached is gone now: the marginal figure starts here.
            if memoryBefore != nil { memoryBefore = try? memory?.charge().total }
            out.measuringSeconds += Clock.since(t)
        }
        var hostStepSeconds = 0.0
        if let hostStep {
            t = Clock.now()
            do { try hostStep(instance.rootfs) } catch { out.result.error = PhaseError(phase: .run, error) }
            hostStepSeconds = Clock.since(t)
        }
        t = Clock.now()
        do {
            guard out.result.error == nil else { throw SkipProcess() }
            // start ends when the child calls execve, by the child's own
            // reading of the clock: whether this thread is scheduled before or
            // after the child exits, the split stays the same.
            let (pid, execAt, join) = try RootfsProcess.launch(rootfs: instance.rootfs, argv: argv, isolation: isolation, cgroup: procs,
                                                               stdin: null.raw, stdout: null.raw, stderr: null.raw)
            out.result.start = execAt - t - join
            if procs != nil { out.result.cgroupJoin = join }
            let status = try RootfsProcess.wait(pid)
            out.result.run = Clock.now() - execAt + hostStepSeconds
            if status != 0 {
                out.result.error = PhaseError(phase: .run, message: "\(argv[0]) exited with status \(status)")
            }
        } catch is SkipProcess {
            // The host step failed: its error stands, and no process runs.
        } catch {
            out.result.error = PhaseError(phase: out.result.start == nil ? .start : .run, error)
        }
        procs = nil // closed: the child has joined
        if let cgroup {
            let t = Clock.now()
            if let c = try? cgroup.charge() {
                out.result.memoryBytes = c.total
                out.result.pageCacheBytes = c.pageCache
            }
            if let memoryBefore, let after = try? memory?.charge().total { out.result.addedMemory = after - memoryBefore }
            if keep { out.result.runMemoryBytes = try? memory?.charge().total } // made relative by the session
            out.measuringSeconds += Clock.since(t)
        }
        if probe, let before {
            let t = Clock.now()
            if (try? FileSystem.syncfs(root)) != nil, let after = try? FileSystem.statfs(root) {
                out.result.addedBytes = Int64(after.usedBytes) - Int64(before.usedBytes)
                // btrfs reports no inode totals: the figure is unknown, not 0.
                if after.totalInodes > 0 { out.result.addedInodes = Int64(after.usedInodes) - Int64(before.usedInodes) }
                out.result.filesystem = after
            }
            out.result.usage = try? driver.usage(of: instance)
            if btrfs { out.result.btrfs = try? BtrfsSpace.read(root) }
            out.measuringSeconds += Clock.since(t)
        }
        if keep && out.result.error == nil {
            out.kept = instance
            return out
        }
        t = Clock.now()
        do {
            try driver.destroy(instance)
            out.result.destroy = Clock.since(t)
        } catch {
            out.result.error = out.result.error ?? PhaseError(phase: .destroy, error)
        }
        if let cgroup {
            let t = Clock.now()
            removeCgroup(cgroup.path)
            out.measuringSeconds += Clock.since(t)
        }
        return out
    }

    /// Removes an instance's cgroup and its journal record; a failure is
    /// left to the run's teardown, which retries it.
    func removeCgroup(_ path: String) {
        do {
            try MemoryCgroup.remove(path)
            try journal?.release(.cgroup(path))
        } catch {
            Diagnostics.warn("memory cgroup \(path): \(error)")
        }
    }
}

/// The host step failed, so the instance's process is not started.
private struct SkipProcess: Error {}
