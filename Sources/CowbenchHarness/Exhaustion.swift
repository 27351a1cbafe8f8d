import CowbenchCore
import Foundation
import Glibc

/// Runs instances that stay alive on a small scratch filesystem until the
/// kernel says ENOSPC, sampling space after each one; then classifies the
/// failure and, if asked, walks through the ways out, measuring each.
///
/// On btrfs, each instance is a writable snapshot that rewrites small inline
/// files and creates new ones, so snapshots share tree blocks and every
/// change copies them: metadata grows until no chunk can be allocated.
public final class Exhaustion {
    public let configuration: ExhaustConfiguration
    public let stateDirectory: String
    public let runID: String
    public let version: String

    public init(configuration: ExhaustConfiguration, stateDirectory: String, runID: String, version: String) {
        self.configuration = configuration
        self.stateDirectory = stateDirectory
        self.runID = runID
        self.version = version
    }

    /// `onSample` gets every sample as it is taken; `onOutcome` the outcome
    /// so far, after the failure and after every recovery step, so it can be
    /// written out before anything else can go wrong; `progress` a line of
    /// what is happening.
    public func run(onSample: (ExhaustSample, RunEnvironment) throws -> Void,
                    onOutcome: @escaping (ExhaustOutcome) throws -> Void = { _ in },
                    progress: @escaping (String) -> Void = { _ in }) throws -> ExhaustOutcome {
        let c = configuration
        let type = try DriverRegistry.resolve(c.driver)
        let journal = try ResourceJournal(path: "\(stateDirectory)/runs/\(runID)-exhaust-\(type.spec.pathComponent).journal")
        let workspace: DriverWorkspace
        do {
            workspace = try DriverWorkspace(type, root: nil, scratchDirectory: "\(stateDirectory)/scratch/\(runID)-exhaust-\(type.spec.pathComponent)",
                                            scratchSize: c.size, journal: journal)
        } catch {
            _ = try? journal.teardown()
            throw error
        }
        defer {
            do { try workspace.close() } catch { Diagnostics.warn("teardown of the \(c.driver) exhaustion run: \(error)") }
        }
        let driver = workspace.driver, root = workspace.root
        let began = Clock.now()
        func sample(_ live: Int) throws -> ExhaustSample {
            let fs = try FileSystem.statfs(root)
            let btrfs = fs.type == FilesystemStats.btrfsMagic
            return ExhaustSample(instance: live, seconds: Clock.since(began), filesystem: fs,
                                 btrfs: btrfs ? try BtrfsSpace.read(root) : nil,
                                 backlog: btrfs && c.remove ? try BtrfsSubvolume.deletedCount(root) : nil)
        }

        let fs = try FileSystem.statfs(root)
        let mount = Mounts.table().first { $0.mountPoint == root }
        let staged = c.like == nil && c.fragmentData && fs.type == FilesystemStats.btrfsMagic
        let workload = c.like.map { "\($0.rawValue)(files=\(c.newFiles)x\(c.newFileSize))" }
            ?? "exhaust(modify=\(c.modifyFiles),new=\(c.newFiles)x\(c.newFileSize))"
        let mode = c.like != nil ? (c.remove ? "rm" : "kept") : staged ? "fragmented" : "plain"
        var env = RunEnvironment(runID: runID, host: HostInfo.hostname, kernel: HostInfo.kernelRelease, driver: c.driver,
                                 image: c.image, workload: workload, mode: mode, filesystem: fs.typeName,
                                 mountOptions: mount?.options ?? "", cowbenchVersion: version)
        env.labels = c.labels.joined(separator: ";")
        var outcome = ExhaustOutcome(environment: env, mkfs: (workspace.scratch?.mkfsArguments ?? []).joined(separator: " "),
                                     reclaim: Self.reclaimSettings(loopDevice: workspace.scratch?.loopDevice),
                                     instancesCreated: 0, seconds: 0)

        progress("preparing \(c.image) on \(ByteSize.format(Double(c.size))) \(fs.typeName)")
        let image = try driver.prepare(try ImageCatalog(stateDirectory: stateDirectory, journal: journal).resolve(c.image))
        let probe = try driver.create(id: "probe", from: image)
        let targets = try Self.smallFiles(in: probe.rootfs, limit: c.modifyFiles)
        try driver.destroy(probe)
        try driver.settle()

        if c.like != nil {
            return try runLikeRuntime(driver: driver, image: image, root: root, env: env, outcome: outcome,
                                      sample: sample, began: began, onSample: onSample, onOutcome: onOutcome, progress: progress)
        }

        // Chunks are btrfs's; on ext4 fragmenting would only burn time.
        if staged {
            progress("fragmenting data: filling with 1 MiB files, then deleting every other one")
            try fragment(root: root, journal: journal)
            try driver.settle()
            outcome.fragmented = try sample(0)
            try onSample(outcome.fragmented!, env)
        }

        var live: [Instance] = []
        for n in 1...c.maxInstances where !StopRequest.requested {
            var instance: Instance?
            do {
                instance = try driver.create(id: "e\(n)", from: image)
                live.append(instance!)
                try Self.writeStream(in: instance!.rootfs, instance: n, targets: targets, configuration: c)
                let s = try sample(live.count)
                try onSample(s, env)
                progress("instance \(n): " + Self.describe(s))
            } catch let e as SyscallError where e.errno == ENOSPC || e.errno == EDQUOT {
                let s = try sample(live.count)
                try onSample(s, env)
                outcome.failure = ExhaustFailure(instance: n, phase: instance == nil ? "create" : "write", call: e.call,
                                                 errno: e.errnoName, path: e.path ?? "", message: "\(e)", sample: s,
                                                 classification: Self.classify(s))
                break
            }
        }
        outcome.instancesCreated = live.count
        outcome.seconds = Clock.since(began)
        try onOutcome(outcome)

        if c.recover, outcome.failure != nil, !StopRequest.requested {
            let steps = RecoverySteps(driver: driver, root: root, sample: { try sample(live.count) },
                                      onStep: { step in
                                          outcome.steps.append(step)
                                          try onOutcome(outcome)
                                      }, progress: progress)
            try steps.step("delete the instances", deferred: fs.type == FilesystemStats.btrfsMagic) { () -> UInt64? in
                for i in live.reversed() { try driver.destroy(i) }
                live.removeAll()
                return nil
            }
            try steps.step("sync and wait for the cleaner") { () -> UInt64? in
                try driver.settle()
                return nil
            }
            if fs.type == FilesystemStats.btrfsMagic {
                for usage in [0, 10, 25, 50, 75] {
                    try steps.step("balance -dusage=\(usage)") { try BtrfsBalance.run(root, dataUsage: usage, metadataUsage: nil) }
                }
                try steps.step("balance -musage=50") { try BtrfsBalance.run(root, dataUsage: nil, metadataUsage: 50) }
            }
            if !StopRequest.requested {
                progress("proving the filesystem usable: one more instance")
                do {
                    let proof = try driver.create(id: "proof", from: image)
                    try Self.writeStream(in: proof.rootfs, instance: 0, targets: targets, configuration: c)
                    try driver.destroy(proof)
                    outcome.usableAgain = true
                } catch {
                    Diagnostics.warn("the filesystem is still not usable after recovery: \(error)")
                    outcome.usableAgain = false
                }
            }
            try onOutcome(outcome)
        }
        return outcome
    }

    /// Classifies the state at an ENOSPC. Metadata cannot grow once
    /// unallocated space is at or below `BtrfsSpace.metadataGrowthFloor`
    /// (or under 8 MiB on a tiny filesystem).
    public static func classify(_ s: ExhaustSample) -> ExhaustClass {
        let fs = s.filesystem
        guard let b = s.btrfs else {
            // ext4 can refuse new inodes before its free count reaches zero (a
            // 256M ext4 here failed with 1,858 free), so under a tenth counts.
            if fs.totalInodes > 0 && fs.freeInodes * 10 < fs.totalInodes { return .inodes }
            return fs.availableBytes < fs.blockSize * 16 ? .data : .unclear
        }
        let headroom = max(UInt64(8 << 20), b.metadataGrowthFloor + 1)
        let small = max(UInt64(4 << 20), b.deviceSize / 100)
        let canAllocate = b.unallocated >= headroom
        // Data counts as full only when its chunks hold (almost) nothing:
        // with unallocated gone and free space still inside data chunks, at
        // any filesystem size, metadata ran out, as Docker's own 1G run did.
        let dataFull = b.dataFree < 1 << 20
        let metadataFull = b.metadataFree < small
        switch (canAllocate, dataFull, metadataFull) {
        case (false, true, true): return .both
        case (false, true, false): return .data
        case (false, false, _): return .metadata
        case (true, _, true): return .metadata
        case (true, true, false): return .data
        case (true, false, false): return .unclear
        }
    }

    static func describe(_ s: ExhaustSample) -> String {
        let mib = { (v: UInt64) in "\(v >> 20)" }
        guard let b = s.btrfs else {
            return "df avail \(mib(s.filesystem.availableBytes)) MiB, inodes free \(s.filesystem.freeInodes)"
        }
        return "metadata \(mib(b.metadataUsed))/\(mib(b.metadataTotal)) MiB, data \(mib(b.dataUsed))/\(mib(b.dataTotal)) MiB, "
            + "unallocated \(mib(b.unallocated)) MiB, df avail \(mib(s.filesystem.availableBytes)) MiB"
    }

    /// The instance's writes: 64 bytes over the start of each small image
    /// file, then new files in /cowbench-exhaust. Every failure names its
    /// syscall and path.
    static func writeStream(in rootfs: String, instance: Int, targets: [String], configuration c: ExhaustConfiguration) throws {
        let stamp = Array("cowbench instance \(instance) was here".utf8.prefix(64))
        let patch = stamp + [UInt8](repeating: 0x2e, count: 64 - stamp.count)
        for t in targets {
            let fd = try FileDescriptor(rootfs + t, flags: O_WRONLY)
            try FileSystem.writeAll(patch, to: fd)
        }
        let dir = rootfs + "/cowbench-exhaust"
        try FileSystem.mkdir(dir)
        let body = [UInt8](repeating: 0x61, count: c.newFileSize)
        for i in 0..<c.newFiles {
            let fd = try FileDescriptor(dir + "/f\(i)", flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            try FileSystem.writeAll(body, to: fd)
        }
    }

    /// Regular files of 2 KiB or less outside /bin, in a stable order.
    static func smallFiles(in rootfs: String, limit: Int) throws -> [String] {
        Array(try Workload.regularFiles(in: rootfs).lazy.filter { !$0.path.hasPrefix("/bin/") && $0.size <= 2048 }.map(\.path).prefix(limit))
    }

    /// Fills the filesystem with 1 MiB files until ENOSPC, then deletes every
    /// other one: the data chunks stay allocated at about half use and hold
    /// the unallocated space that metadata would need.
    private func fragment(root: String, journal: ResourceJournal) throws {
        let dir = root + "/fill"
        try journal.record(.directory(dir))
        try FileSystem.mkdir(dir)
        let block = [UInt8](repeating: 0x66, count: 1 << 20)
        var count = 0
        fill: while !StopRequest.requested {
            let path = dir + "/\(count)"
            do {
                let fd = try FileDescriptor(path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
                try FileSystem.writeAll(block, to: fd)
                count += 1
            } catch let e as SyscallError where e.errno == ENOSPC {
                try? FileSystem.unlink(path)
                break fill
            }
        }
        for i in stride(from: 0, to: count, by: 2) { try FileSystem.unlink(dir + "/\(i)") }
        try FileSystem.syncfs(root)
    }

    /// The kernel's automatic block-group reclaim settings, which change
    /// how (and whether) this failure happens; read from sysfs.
    static func reclaimSettings(loopDevice: String?) -> String {
        guard let loop = loopDevice.map(Path.base), let uuids = try? FileSystem.list("/sys/fs/btrfs") else { return "" }
        for uuid in uuids where FileSystem.exists("/sys/fs/btrfs/\(uuid)/devices/\(loop)") {
            let base = "/sys/fs/btrfs/\(uuid)/allocation"
            return ["data", "metadata"].flatMap { kind in
                ["bg_reclaim_threshold", "dynamic_reclaim"].compactMap { knob in
                    (try? FileSystem.read("\(base)/\(kind)/\(knob)")).map {
                        "\(kind).\(knob)=\($0.trimmingCharacters(in: .whitespacesAndNewlines))"
                    }
                }
            }.joined(separator: " ")
        }
        return ""
    }
}

/// Runs recovery steps one after another, sampling around each; once a
/// stop is requested the remaining steps are skipped.
struct RecoverySteps {
    let driver: any StorageDriver
    let root: String
    let sample: () throws -> ExhaustSample
    let onStep: (RecoveryStep) throws -> Void
    let progress: (String) -> Void

    /// A step that fails is recorded with its errno and the run goes on:
    /// a balance that hits ENOSPC is part of the answer.
    func step(_ name: String, deferred: Bool = false, _ body: () throws -> UInt64?) throws {
        guard !StopRequest.requested else { return }
        progress("recovery: \(name)")
        let before = try sample()
        let t = Clock.now()
        var relocated: UInt64?, message: String?, errno: String?
        do { relocated = try body() } catch {
            message = "\(error)"
            errno = (error as? SyscallError)?.errnoName
        }
        var s = RecoveryStep(name: name, seconds: Clock.since(t), before: before, after: try sample(),
                             relocated: relocated, error: message, errno: errno)
        s.deferred = deferred
        try onStep(s)
    }
}
