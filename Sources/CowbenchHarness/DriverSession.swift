import CowbenchCore
import Foundation
import Glibc

/// One driver's run, opened once and driven a block at a time, so that
/// several drivers can take turns (interleaved rounds) while each keeps its
/// own scratch filesystem, prepared image and journal.
///
/// Opening makes the workspace, prepares the image, runs the warm-ups and
/// settles, so that no warm-up's deferred work lands in a measured block.
/// Each block runs its instances back to back and then settles again; the
/// settle is timed and charged to the block (`BlockRecord`).
public final class DriverSession {
    public let configuration: RunConfiguration
    public let environment: RunEnvironment
    public private(set) var summary: RunSummary
    private let workspace: DriverWorkspace
    private let driver: any StorageDriver
    private let image: PreparedImage
    private let runner: InstanceRunner
    private var kept: [Instance] = []
    /// The run's memory cgroup, and the child cowbench itself joins while
    /// this driver works, so its page cache is charged inside the run.
    private var memory: MemoryCgroup?
    private var tool: MemoryCgroup?
    /// The run cgroup's charge once warm-ups had settled.
    private var memoryAtStart: Int64?
    /// Measured instances run so far, failed ones included.
    public private(set) var measured = 0
    private let loadBefore = HostLoad.read()
    private var closed = false
    private let stateDirectory: String

    /// Opens the driver; `warmupProgress` hears about warm-ups as they finish.
    public init(configuration c: RunConfiguration, stateDirectory: String, runID: String, version: String,
                warmupProgress: ((Int, Int) -> Void)? = nil) throws {
        configuration = c
        self.stateDirectory = stateDirectory
        let type = try DriverRegistry.resolve(c.driver)
        let journal = try ResourceJournal(path: "\(stateDirectory)/runs/\(runID)-\(type.spec.pathComponent).journal")
        do {
            workspace = try DriverWorkspace(type, root: c.root, scratchDirectory: "\(stateDirectory)/scratch/\(runID)-\(type.spec.pathComponent)",
                                            scratchSize: c.scratchSize, journal: journal)
        } catch {
            _ = try? journal.teardown() // also drops the journal file once nothing in it is live
            throw error
        }
        driver = workspace.driver
        do {
            // Read before any session moves this process (a static is set once,
            // on first use): where every session's teardown puts cowbench back.
            if c.memory, Self.origin != nil {
                let run = try MemoryCgroup.makeRun("\(runID)-\(type.spec.pathComponent)", journal: journal)
                memory = run
                tool = try run.child("tool", journal: journal)
                try tool?.join()
                // A daemon that serves every instance (an embedded containerd)
                // started with the driver; what it grows by is the run's too.
                for pid in driver.daemons { try tool?.admit(pid) }
            }
            let layers = try ImageCatalog(stateDirectory: stateDirectory, journal: journal).resolve(c.image)
            image = try driver.prepare(layers)
            let sample = try driver.create(id: "sample", from: image)
            let targets = try Workload.findTargets(in: sample.rootfs, layers: layers.layers)
            let argv = try c.workload.argv(targets)
            let hasBinary = Workload.imageHas(argv[0], in: sample.rootfs)
            try driver.destroy(sample)
            guard hasBinary else {
                throw SetupError("the image \(c.image) has no \(argv[0]), which the \(c.workload.name) workload runs; "
                    + "use an image that ships it (busybox, a synthetic image, or an imported image with a shell)")
            }
            let dataRoot = driver.dataRoot ?? workspace.root
            let fs = try FileSystem.statfs(dataRoot)
            var env = Self.environment(c, root: dataRoot, filesystem: fs.typeName, runID: runID, version: version)
            env.memoryCgroup = memory?.version.rawValue ?? "none"
            env.loopDirectIO = workspace.scratch?.directIO ?? false
            env.mountAPI = driver.apiNote(for: image, instance: "i0") ?? ""
            environment = env
            runner = try InstanceRunner(driver: driver, image: image, argv: argv, root: dataRoot,
                                        btrfs: fs.type == FilesystemStats.btrfsMagic, isolation: c.isolation,
                                        memory: memory, journal: journal, cold: c.cold, hostStep: c.workload.hostStep)
            for w in 0..<c.warmup where !StopRequest.requested {
                _ = runner.run(index: w, id: "w\(w)", round: -1, keep: false, probe: false)
                warmupProgress?(w + 1, c.warmup)
            }
            try driver.settle()
            memoryAtStart = try memory?.charge().total
        } catch {
            let explained = StateSpace.explain(error, stateDirectory: stateDirectory)
            if tool != nil { Self.rejoinOrigin() }
            try? workspace.close()
            throw explained
        }
        summary = RunSummary(environment: environment)
    }

    /// Puts cowbench back where it was, so the run's cgroups can go.
    private static func rejoinOrigin() {
        guard let origin else { return }
        do { try MemoryCgroup.rejoin(origin) } catch { Diagnostics.warn("leaving the run's memory cgroup: \(error)") }
    }

    /// cowbench's own cgroup before any session moved it.
    private static let origin = MemoryCgroup.origin()

    /// Measured instances still to run; 0 once the failure limit is hit.
    public var remaining: Int {
        summary.failures >= configuration.maxFailures ? 0 : configuration.instances - measured
    }

    /// Runs the next block (at most `configuration.block` instances), then
    /// settles. `onResult` is called once per instance, serially.
    public func runBlock(round: Int, progress: ((Int) -> Void)? = nil,
                         onResult: @escaping (InstanceResult, RunEnvironment) throws -> Void) throws {
        let c = configuration
        let size = min(c.block, remaining)
        guard size > 0, !StopRequest.requested else { return }
        // Sessions take turns in one process: this driver's work is charged to its own run.
        try tool?.join()
        let firstIndex = measured
        let gate = ProbeGate()
        let lock = NSLock()
        var next = 0
        var record = BlockRecord(round: round, instances: 0, failures: 0, wallSeconds: 0, settleSeconds: 0)
        var totals: [Double] = []
        var measuring = 0.0
        var sinkError: Error?
        let env = environment
        let began = Clock.now()
        let worker = { [self] in
            while true {
                let index: Int? = lock.withLock {
                    guard next < size, summary.failures < c.maxFailures, sinkError == nil, !StopRequest.requested else { return nil }
                    defer { next += 1 }
                    return firstIndex + next
                }
                guard let index else { return }
                let probe = index % c.usageEvery == 0
                gate.enter(exclusive: probe)
                let out = runner.run(index: index, id: "i\(index)", round: round, keep: c.keep, probe: probe)
                gate.leave(exclusive: probe)
                lock.withLock {
                    if out.stopped { return }
                    var result = out.result
                    if let m = result.runMemoryBytes { result.runMemoryBytes = memoryAtStart.map { m - $0 } }
                    if let e = result.error, StateSpace.looksLikeFullBacking(e.errno),
                       let full = StateSpace.fullProblem(stateDirectory) {
                        result.error = PhaseError(phase: e.phase, message: "\(full) (the failure: \(e.message))", errno: e.errno)
                    }
                    // A probe ran settled and alone, unlike the instances around it:
                    // its space counts, its phase times stay out of the histograms.
                    summary.add(result, timings: !probe)
                    if result.error == nil { record.instances += 1 } else { record.failures += 1 }
                    if result.error == nil && !probe { totals.append(result.total) }
                    measuring += out.measuringSeconds
                    if let k = out.kept { kept.append(k) }
                    do { try onResult(result, env) } catch { sinkError = sinkError ?? error }
                    measured += 1
                    progress?(measured)
                }
            }
        }
        if c.parallel <= 1 {
            worker()
        } else {
            // The worker shares state only under `lock`.
            let shared = UncheckedBox(worker)
            let group = DispatchGroup()
            for _ in 0..<c.parallel {
                group.enter()
                Thread { shared.value(); group.leave() }.start()
            }
            group.wait()
        }
        record.wallSeconds = max(0, Clock.since(began) - measuring)
        // Stopped part-way: the block is not settled (that could take longer
        // than a Ctrl-C should wait), so it stays out of sustained cost.
        if StopRequest.requested {
            record.settled = false
        } else {
            let t = Clock.now()
            do { try driver.settle() } catch { throw StateSpace.explain(error, stateDirectory: stateDirectory) }
            record.settleSeconds = Clock.since(t)
        }
        summary.blocks.append(record)
        if record.instances == size && size == c.block {
            if summary.firstBlockTotals.isEmpty { summary.firstBlockTotals = totals } else { summary.lastBlockTotals = totals }
        }
        if let sinkError { throw sinkError }
    }

    /// Accumulate mode destroys every kept instance and settles, timed as
    /// teardown; then the run's warnings are worked out.
    public func finish() throws -> RunSummary {
        if let memory, let start = memoryAtStart, let now = try? memory.charge().total {
            summary.memoryTotalBytes = now - start
            summary.liveInstances = kept.count
        }
        if configuration.keep && !kept.isEmpty {
            let t0 = Clock.now()
            for instance in kept {
                let t = Clock.now()
                do {
                    try driver.destroy(instance)
                    summary.phases[.destroy]!.record(seconds: Clock.since(t))
                } catch {
                    summary.failures += 1
                    summary.firstError = summary.firstError ?? "destroy \(instance.id): \(error)"
                }
            }
            // Each kept instance's cgroup is named after it.
            if let memory { for instance in kept { runner.removeCgroup(memory.path + "/" + instance.id) } }
            kept = []
            try driver.settle()
            summary.teardownSeconds = Clock.since(t0)
        }
        summary.warnings = RunWarnings.evaluate(summary, load: (loadBefore, HostLoad.read()))
        return summary
    }

    /// Removes the image and tears the workspace down; safe to call twice.
    public func close() {
        guard !closed else { return }
        closed = true
        for instance in kept { try? driver.destroy(instance) }
        kept = []
        if tool != nil { Self.rejoinOrigin() }
        do { try driver.remove(image) } catch { Diagnostics.warn("removing image of \(configuration.driver) run: \(error)") }
        do { try workspace.close() } catch { Diagnostics.warn("teardown of \(configuration.driver) run: \(error)") }
    }

    deinit { close() }

    private static func environment(_ c: RunConfiguration, root: String, filesystem: String, runID: String,
                                    version: String) -> RunEnvironment {
        let mount = Mounts.table().filter { root == $0.mountPoint || root.hasPrefix($0.mountPoint + "/") || $0.mountPoint == "/" }
            .max { $0.mountPoint.count < $1.mountPoint.count }
        var e = RunEnvironment(runID: runID, host: HostInfo.hostname, kernel: HostInfo.kernelRelease, driver: c.driver,
                               image: c.image, workload: c.workload.description, mode: c.mode, filesystem: filesystem,
                               mountOptions: mount?.options ?? "", cowbenchVersion: version)
        e.rounds = c.rounds
        e.block = c.block
        e.seed = c.seed
        e.parallel = c.parallel
        e.warmup = c.warmup
        e.usageEvery = c.usageEvery
        e.isolation = c.isolation.rawValue
        e.cold = c.cold
        e.labels = c.labels.joined(separator: ";")
        return e
    }
}

/// Lets ordinary instances run side by side and a space probe run alone:
/// a probe waits for those in flight to finish and holds new ones back.
final class ProbeGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var inFlight = 0
    private var probing = false

    func enter(exclusive: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while probing { condition.wait() }
        if exclusive {
            probing = true
            while inFlight > 0 { condition.wait() }
        } else {
            inFlight += 1
        }
    }

    func leave(exclusive: Bool) {
        condition.lock()
        if exclusive { probing = false } else { inFlight -= 1 }
        condition.broadcast()
        condition.unlock()
    }
}

final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
