import CowbenchCore
import Glibc

extension Exhaustion {
    /// The `--like docker` stream: containers made as the runtime makes
    /// them, kept until ENOSPC, or (`--rm`) each removed after its workload
    /// for `maxInstances`, watching the cleaner's backlog.
    func runLikeRuntime(driver: any StorageDriver, image: PreparedImage, root: String,
                        env: RunEnvironment, outcome start: ExhaustOutcome, sample: @escaping (Int) throws -> ExhaustSample, began: Double,
                        onSample: (ExhaustSample, RunEnvironment) throws -> Void,
                        onOutcome: @escaping (ExhaustOutcome) throws -> Void,
                        progress: @escaping (String) -> Void) throws -> ExhaustOutcome {
        let c = configuration
        var outcome = start
        try FileSystem.createDirectories(root + "/containers")
        let baseline = try sample(0)
        try onSample(baseline, env)
        var kept: [RuntimeStream.Container] = []
        var peakMetadata = baseline.btrfs?.metadataUsed ?? 0, peakBacklog = 0
        var lastDelete = Clock.now()
        for n in 1...c.maxInstances where !StopRequest.requested {
            var partial: RuntimeStream.Container?
            do {
                try RuntimeStream.create(n, driver: driver, image: image, root: root, files: c.newFiles, fileSize: c.newFileSize,
                                         partial: &partial)
                if c.remove {
                    try RuntimeStream.remove(partial!, driver: driver)
                    lastDelete = Clock.now()
                } else {
                    kept.append(partial!)
                }
                let s = try sample(kept.count)
                outcome.sizeSeen = s.filesystem.totalBytes
                peakMetadata = max(peakMetadata, s.btrfs?.metadataUsed ?? 0)
                peakBacklog = max(peakBacklog, s.backlog ?? 0)
                try onSample(s, env)
                if n % 25 == 0 { progress("container \(n): " + Self.describe(s)) }
            } catch let e as SyscallError where e.errno == ENOSPC || e.errno == EDQUOT {
                if let p = partial { kept.append(p) }
                let s = try sample(kept.count)
                try onSample(s, env)
                let phase = partial == nil ? "init snapshot" : partial?.writable == nil ? "writable snapshot" : "runtime files or workload"
                outcome.failure = ExhaustFailure(instance: n, phase: phase, call: e.call, errno: e.errnoName, path: e.path ?? "",
                                                 message: "\(e)", sample: s, classification: Self.classify(s))
                break
            }
        }
        outcome.instancesCreated = kept.count
        outcome.seconds = Clock.since(began)
        if c.remove && outcome.failure == nil && !StopRequest.requested {
            outcome.churn = try waitForSpace(root: root, baseline: baseline, lastDelete: lastDelete, sample: sample,
                                             instances: c.maxInstances, peakMetadata: peakMetadata, peakBacklog: peakBacklog,
                                             progress: progress)
        }
        try onOutcome(outcome)
        guard c.recover, outcome.failure != nil, !StopRequest.requested else { return outcome }
        // In the order people take them: prune the containers, let the cleaner
        // finish (after the commit that wakes it), then give chunks back.
        let btrfs = baseline.btrfs != nil
        let steps = RecoverySteps(driver: driver, root: root, sample: { try sample(kept.count) },
                                  onStep: { step in
                                      outcome.steps.append(step)
                                      try onOutcome(outcome)
                                  }, progress: progress)
        try steps.step("delete the kept containers (docker container prune)", deferred: btrfs) { () -> UInt64? in
            for k in kept.reversed() { try RuntimeStream.remove(k, driver: driver) }
            kept.removeAll()
            return nil
        }
        try steps.step("commit and wait for the cleaner") { () -> UInt64? in
            try driver.settle()
            return nil
        }
        if btrfs {
            try steps.step("balance -musage=50") { try BtrfsBalance.run(root, dataUsage: nil, metadataUsage: 50) }
        }
        if !StopRequest.requested {
            progress("proving the filesystem usable: one more container")
            var proof: RuntimeStream.Container?
            do {
                try RuntimeStream.create(0, driver: driver, image: image, root: root, files: c.newFiles, fileSize: c.newFileSize,
                                         partial: &proof)
                outcome.usableAgain = true
            } catch {
                Diagnostics.warn("the filesystem is still not usable after recovery: \(error)")
                outcome.usableAgain = false
            }
            if let proof { try? RuntimeStream.remove(proof, driver: driver) }
        }
        try onOutcome(outcome)
        return outcome
    }

    /// After the last `--rm`: polls, without forcing a commit, until the
    /// cleaner has no backlog and metadata is back near where it started,
    /// as it would on a host left alone (btrfs commits every 30 s).
    private func waitForSpace(root: String, baseline: ExhaustSample, lastDelete: Double, sample: (Int) throws -> ExhaustSample,
                              instances: Int, peakMetadata: UInt64, peakBacklog: Int,
                              progress: (String) -> Void) throws -> ChurnOutcome {
        progress("the filesystem survived \(instances) containers; waiting for btrfs to give the space back by itself")
        let limit = configuration.spaceBackWait
        var back: Double?
        let base = baseline.btrfs?.metadataUsed ?? 0
        while Clock.since(lastDelete) < limit && !StopRequest.requested {
            let s = try sample(0)
            if (s.backlog ?? 0) == 0 && (s.btrfs?.metadataUsed ?? 0) <= base + (1 << 20) {
                back = Clock.since(lastDelete)
                break
            }
            usleep(200_000)
        }
        return ChurnOutcome(instances: instances, peakMetadataUsed: peakMetadata, peakBacklog: peakBacklog,
                            baselineMetadataUsed: base, spaceBackSeconds: back, waitedSeconds: Clock.since(lastDelete))
    }
}
