import CowbenchCore
@testable import CowbenchExport
@testable import CowbenchHarness
import Glibc
import Testing

/// Every claim's judgment comes out "does not hold" when the numbers cross
/// its threshold the wrong way: nothing is decided before measuring.
@Suite struct ClaimJudgmentTests {
    let mib = Double(1 << 20)

    @Test func pageCache() {
        let read = 32 * mib
        let overlay = (shares: true, bytes: 90 * 1024.0), btrfs = (shares: false, bytes: 34 * mib), fuse = (shares: false, bytes: 33 * mib)
        #expect(PageCacheClaim.judge([overlay, btrfs, fuse], readBytes: read) == .holds)
        #expect(PageCacheClaim.judge([(true, 30 * mib), btrfs], readBytes: read) == .doesNotHold, "overlay not sharing")
        #expect(PageCacheClaim.judge([overlay, (false, 1 * mib)], readBytes: read) == .doesNotHold, "btrfs sharing")
        #expect(PageCacheClaim.judge([overlay, btrfs, (false, 2 * mib)], readBytes: read) == .doesNotHold, "a FUSE mount sharing after all")
    }

    @Test func copyUp() {
        #expect(CopyUpClaim.judge(overlay: 64 * mib, btrfs: 132 * 1024, fileBytes: 64 * mib) == .holds)
        #expect(CopyUpClaim.judge(overlay: 4096, btrfs: 132 * 1024, fileBytes: 64 * mib) == .doesNotHold, "overlay copying up metadata only")
        #expect(CopyUpClaim.judge(overlay: 64 * mib, btrfs: 64 * mib, fileBytes: 64 * mib) == .doesNotHold, "btrfs copying the whole file")
    }

    @Test func layerLookupWantsTheWholeIntervalAboveTheFactor() {
        #expect(LayerLookupClaim.judge(ratio: Estimate(1.67, 1.51...1.92)) == .holds)
        #expect(LayerLookupClaim.judge(ratio: Estimate(1.0, 0.9...1.1)) == .doesNotHold)
        let straddling = LayerLookupClaim.judge(ratio: Estimate(1.6, 1.17...1.91))
        #expect(straddling.verdict == .cannotTest, "an interval reaching below 1.25 decides nothing")
        #expect(straddling.reason?.contains("[1.17×, 1.91×] straddles 1.25×") == true, "\(straddling.reason ?? "")")
        #expect(straddling.reason?.contains("claims --only layer-lookup") == true, "says what to do")
        #expect(LayerLookupClaim.judge(ratio: Estimate(3, nil)).verdict == .cannotTest, "no interval, no claim")
    }

    @Test func sequentialWrite() {
        #expect(SequentialWriteClaim.judge(ratio: Estimate(1.75, 1.39...2.14)) == .holds)
        #expect(SequentialWriteClaim.judge(ratio: Estimate(0.7, 0.6...0.8)) == .doesNotHold, "btrfs faster")
        #expect(SequentialWriteClaim.judge(ratio: Estimate(0.95, 0.8...1.0)) == .doesNotHold, "btrfs no slower")
        #expect(SequentialWriteClaim.judge(ratio: Estimate(1.5, 0.47...4.85)).verdict == .cannotTest, "~: the interval includes 1")
    }

    @Test func redirectDir() {
        #expect(RedirectDirClaim.judge(off: EXDEV, on: 0) == .holds)
        #expect(RedirectDirClaim.judge(off: 0, on: 0) == .doesNotHold, "a kernel that renames without redirect_dir")
        #expect(RedirectDirClaim.judge(off: EXDEV, on: EXDEV) == .doesNotHold)
    }

    @Test func unmountSync() {
        #expect(UnmountSyncClaim.judge(defaultWritten: 64 * mib, volatileWritten: 0, bytes: 64 * mib) == .holds)
        #expect(UnmountSyncClaim.judge(defaultWritten: 0, volatileWritten: 0, bytes: 64 * mib) == .doesNotHold, "written back before the unmount")
        #expect(UnmountSyncClaim.judge(defaultWritten: 64 * mib, volatileWritten: 64 * mib, bytes: 64 * mib) == .doesNotHold, "volatile syncing")
    }

    @Test func metadataExhaustion() {
        #expect(MetadataExhaustionClaim.judge(classification: .metadata, availableFraction: 0.42) == .holds)
        #expect(MetadataExhaustionClaim.judge(classification: .data, availableFraction: 0.42) == .doesNotHold)
        #expect(MetadataExhaustionClaim.judge(classification: .metadata, availableFraction: 0.02) == .doesNotHold, "df agreed it was full")
    }

    @Test func aClaimThatCannotRunSaysWhy() throws {
        struct Broken: ClaimCheck {
            let id = "broken", claim = "c", source = "s", threshold = "t"
            func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement) {
                throw SetupError("mkfs.xfs not found")
            }
        }
        var seen: [String] = []
        let results = try Claims.run([Broken()], context: ClaimContext(stateDirectory: "/nonexistent", runID: "x", version: "0")) { seen.append($0.id) }
        #expect(results.map(\.verdict) == [.cannotTest] && results[0].reason == "mkfs.xfs not found" && seen == ["broken"])
        let csv = ClaimsCSV.render(results, host: "h", kernel: "k", version: "v")
        #expect(csv.hasPrefix("claim,source,measured,threshold,verdict,"), "\(csv)")
        #expect(csv.contains("cannot test here") && csv.contains("mkfs.xfs not found"), "\(csv)")
    }

    @Test func figuresAreWrittenWithUnitsAndIntervals() {
        let text = ClaimsCSV.measured([
            ClaimFigure("overlay", 64 * mib, .bytes), ClaimFigure("ratio", Estimate(1.5, 1.25...1.75), .ratio),
            .outcome("rename", "EXDEV"), ClaimFigure("df", 42, .percent),
        ])
        #expect(text == "overlay 64.0 MiB; ratio 1.50× [1.25×, 1.75×]; rename EXDEV; df 42%", "\(text)")
    }
}
