import CowbenchCore
import Glibc

/// Unmounting an overlay syncs its upper filesystem; `volatile` skips every
/// sync, so the writeback is left to the flusher, or dropped with the upper.
/// What the unmount sent to disk is read from the scratch loop device's own
/// counters, not inferred from the time.
struct UnmountSyncClaim: ClaimCheck {
    let id = "unmount-sync"
    let claim = "Unmounting overlay syncs the upper filesystem; the volatile option skips that"
    let source = "kernel docs: overlayfs.rst, Volatile mount"
    static let bytes = 64 << 20
    static let trials = 3
    let threshold = "after writing 64 MiB into an instance: its unmount writes at least 50% of it to disk by default, at most 10% with volatile"

    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
        try context.withOverlay(id) { workspace, image, journal in
            guard let device = workspace.scratch?.loopDevice else { throw SetupError("the overlay claim has no scratch loop device") }
            let drivers = [("default", workspace.driver), ("volatile", try OverlayDriver(root: workspace.root, journal: journal, mountFlags: ["volatile"]))]
            var written: [[Double]] = [[], []], seconds: [[Double]] = [[], []]
            let chunk = [UInt8](repeating: 0x63, count: 1 << 20)
            for t in 0..<(2 * Self.trials) {
                try StopRequest.check("claim \(id)")
                let (name, driver) = drivers[t % 2]
                let instance = try driver.create(id: "\(name)-\(t)", from: image)
                try FileSystem.syncfs(workspace.root) // nothing else dirty when the unmount starts
                do { // closed at the end of the scope, unsynced
                    let fd = try FileDescriptor(instance.rootfs + "/tmp/big", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
                    for _ in 0..<(Self.bytes >> 20) { try FileSystem.writeAll(chunk, to: fd) }
                }
                let before = try LoopDevice.bytesWritten(device)
                let start = Clock.now()
                try Mounts.unmount(instance.rootfs)
                seconds[t % 2].append(Clock.since(start))
                written[t % 2].append(Double(try LoopDevice.bytesWritten(device) - before))
                try driver.destroy(instance) // the mount is gone; the directories go
            }
            let median = { (v: [Double]) in v.sorted()[v.count / 2] }
            let figures = [
                ClaimFigure("written by the default unmount", median(written[0]), .bytes),
                ClaimFigure("written by the volatile unmount", median(written[1]), .bytes),
                ClaimFigure("default unmount", median(seconds[0]), .seconds),
                ClaimFigure("volatile unmount", median(seconds[1]), .seconds),
            ]
            return (figures, Self.judge(defaultWritten: median(written[0]), volatileWritten: median(written[1]), bytes: Double(Self.bytes)))
        }
    }

    static func judge(defaultWritten: Double, volatileWritten: Double, bytes: Double) -> ClaimJudgement {
        defaultWritten >= 0.5 * bytes && volatileWritten <= 0.1 * bytes ? .holds : .doesNotHold
    }
}
