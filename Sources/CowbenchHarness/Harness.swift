import CowbenchCore
import Foundation
import Glibc

/// Starts many short-lived instances of one driver and measures each phase:
/// create the rootfs, start the image's own process in it (clone, unshare,
/// chroot, exec), run the workload to its exit, destroy the rootfs.
///
/// Results stream out through `onResult` one instance at a time, so nothing
/// grows with the number of instances but the histograms' fixed buckets.
public final class Harness {
    public let configuration: RunConfiguration
    public let stateDirectory: String
    public let runID: String
    public let version: String

    public init(configuration: RunConfiguration, stateDirectory: String, runID: String, version: String) {
        self.configuration = configuration
        self.stateDirectory = stateDirectory
        self.runID = runID
        self.version = version
    }

    /// Runs warm-up and measured instances, then tears everything down.
    /// `onResult` is called once per measured instance, serially.
    public func run(progress: (@Sendable (Int, Int) -> Void)? = nil,
                    onResult: @escaping (InstanceResult, RunEnvironment) throws -> Void) throws -> RunSummary {
        let c = configuration
        let type = try DriverRegistry.driver(named: c.driver)
        let journal = try ResourceJournal(path: "\(stateDirectory)/runs/\(runID)-\(c.driver).journal")
        let workspace: DriverWorkspace
        do {
            workspace = try DriverWorkspace(type, root: c.root, scratchDirectory: "\(stateDirectory)/scratch/\(runID)-\(c.driver)",
                                            scratchSize: c.scratchSize, journal: journal)
        } catch {
            _ = try? journal.teardown() // also drops the journal file once nothing in it is live
            throw error
        }
        defer {
            do { try workspace.close() } catch { Diagnostics.warn("teardown of \(c.driver) run: \(error)") }
        }
        let driver = workspace.driver
        let layers = try ImageCatalog(stateDirectory: stateDirectory, journal: journal).resolve(c.image)
        let image = try driver.prepare(layers)
        let sample = try driver.create(id: "sample", from: image)
        let targets = try Workload.findTargets(in: sample.rootfs)
        try driver.destroy(sample)
        let argv = try c.workload.argv(targets)
        try driver.settle()

        let fs = try FileSystem.statfs(workspace.root)
        let env = environment(root: workspace.root, filesystem: fs.typeName)
        let runner = try InstanceRunner(driver: driver, image: image, argv: argv, root: workspace.root,
                                        btrfs: fs.type == FilesystemStats.btrfsMagic)
        for w in 0..<c.warmup where !StopRequest.requested { _ = runner.run(index: w, id: "w\(w)", keep: false) }

        var summary = RunSummary(environment: env)
        let lock = NSLock()
        var next = 0, done = 0
        var kept: [Instance] = []
        var sinkError: Error?
        let began = Clock.now()
        let worker = {
            while true {
                let index: Int? = lock.withLock {
                    guard next < c.instances, summary.failures < c.maxFailures, sinkError == nil,
                          !StopRequest.requested else { return nil }
                    defer { next += 1 }
                    return next
                }
                guard let index else { return }
                let (result, instance) = runner.runKeeping(index: index, id: "i\(index)", keep: c.keep,
                                                                  measureUsage: index % c.usageEvery == 0)
                lock.withLock {
                    summary.add(result)
                    if let instance { kept.append(instance) }
                    do { try onResult(result, env) } catch { sinkError = sinkError ?? error }
                    done += 1
                    progress?(done, c.instances)
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
        if c.keep {
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
            summary.teardownSeconds = Clock.since(t0)
        }
        summary.wallSeconds = Clock.since(began)
        if let sinkError { throw sinkError }
        try driver.remove(image)
        return summary
    }

    private func environment(root: String, filesystem: String) -> RunEnvironment {
        let mount = Mounts.table().filter { root == $0.mountPoint || root.hasPrefix($0.mountPoint + "/") || $0.mountPoint == "/" }
            .max { $0.mountPoint.count < $1.mountPoint.count }
        return RunEnvironment(runID: runID, host: HostInfo.hostname, kernel: HostInfo.kernelRelease, driver: configuration.driver,
                              image: configuration.image, workload: configuration.workload.description,
                              mode: configuration.mode, filesystem: filesystem, mountOptions: mount?.options ?? "",
                              cowbenchVersion: version)
    }
}

private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The monotonic clock, in seconds.
public enum Clock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func since(_ t: Double) -> Double { now() - t }
}
