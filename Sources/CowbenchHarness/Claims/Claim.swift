import CowbenchCore
import Foundation

/// What a claim's measurement says about it.
public enum ClaimVerdict: String, Sendable, CaseIterable {
    case holds = "holds"
    case doesNotHold = "does not hold"
    case cannotTest = "cannot test here"
}

/// A verdict with, for "cannot test here", the reason.
public struct ClaimJudgement: Sendable, Equatable {
    public var verdict: ClaimVerdict
    public var reason: String?

    public static let holds = ClaimJudgement(verdict: .holds)
    public static let doesNotHold = ClaimJudgement(verdict: .doesNotHold)
    public static func cannotTest(_ reason: String) -> ClaimJudgement { ClaimJudgement(verdict: .cannotTest, reason: reason) }
}

/// What one claim's experiment found on this host.
public struct ClaimResult: Sendable {
    public var id: String
    public var claim: String
    public var source: String
    /// The numbers the verdict rests on.
    public var figures: [ClaimFigure]
    /// What the numbers must show for the claim to hold.
    public var threshold: String
    public var verdict: ClaimVerdict
    /// Why the claim could not be tested (with `cannotTest`).
    public var reason: String?
    public var seconds: Double

    public init(id: String, claim: String, source: String, figures: [ClaimFigure], threshold: String,
                verdict: ClaimVerdict, reason: String? = nil, seconds: Double = 0) {
        self.id = id
        self.claim = claim
        self.source = source
        self.figures = figures
        self.threshold = threshold
        self.verdict = verdict
        self.reason = reason
        self.seconds = seconds
    }
}

/// One measured number (or outcome) behind a verdict.
public struct ClaimFigure: Sendable, Equatable {
    public enum Unit: String, Sendable { case bytes, seconds, ratio, count, percent, bytesPerSecond, outcome }
    public var label: String
    public var value: Double
    public var interval: ClosedRange<Double>?
    public var unit: Unit
    /// The outcome in words, for `.outcome` (an errno name, "renamed").
    public var text: String?

    public init(_ label: String, _ value: Double, _ unit: Unit, interval: ClosedRange<Double>? = nil, text: String? = nil) {
        self.label = label
        self.value = value
        self.unit = unit
        self.interval = interval
        self.text = text
    }

    public init(_ label: String, _ estimate: Estimate, _ unit: Unit) {
        self.init(label, estimate.value, unit, interval: estimate.interval)
    }

    public static func outcome(_ label: String, _ text: String) -> ClaimFigure { ClaimFigure(label, 0, .outcome, text: text) }
}

/// A claim the documentation makes about a driver, and a short experiment
/// that tests it on this host.
///
/// `check` measures and hands the numbers to a pure judgment (each claim's
/// `judge`), which compares them with `threshold`; nothing is hard-coded,
/// so every claim can come out "does not hold". An experiment that cannot
/// run here throws, and the claim is "cannot test here" with the reason; so
/// is one whose interval straddles the threshold (the host was too noisy).
public protocol ClaimCheck: Sendable {
    /// A short name for `--only`.
    var id: String { get }
    var claim: String { get }
    /// Where the claim is made.
    var source: String { get }
    var threshold: String { get }
    func check(_ context: ClaimContext) throws -> (figures: [ClaimFigure], judgement: ClaimJudgement)
}

/// Where claims run: cowbench's state directory and a run ID of their own.
public struct ClaimContext: Sendable {
    public var stateDirectory: String
    public var runID: String
    public var version: String
    /// A line of status while an experiment runs.
    public var status: @Sendable (String) -> Void

    public init(stateDirectory: String, runID: String, version: String, status: @escaping @Sendable (String) -> Void = { _ in }) {
        self.stateDirectory = stateDirectory
        self.runID = runID
        self.version = version
        self.status = status
    }

    /// Runs `configurations` side by side through the harness, on fresh
    /// scratch filesystems, as `compare` would.
    func measure(_ step: String, _ configurations: [RunConfiguration]) throws -> [RunSummary] {
        let harness = Harness(configurations: configurations, stateDirectory: stateDirectory,
                              runID: "\(runID)-\(step)", version: version)
        let summaries = try harness.run(progress: Harness.Progress(status: status)) { _, _ in }
        try StopRequest.check("claims")
        for s in summaries where s.instances == 0 {
            throw SetupError("\(s.environment.driver): no instance succeeded (\(s.firstError ?? "no error recorded"))")
        }
        return summaries
    }

    /// Opens an overlay driver on a scratch ext4 of its own, with the busybox
    /// image prepared, runs `body`, and tears everything down again.
    func withOverlay<T>(_ step: String, body: (DriverWorkspace, PreparedImage, ResourceJournal) throws -> T) throws -> T {
        let journal = try ResourceJournal(path: "\(stateDirectory)/runs/\(runID)-\(step).journal")
        let workspace: DriverWorkspace
        do {
            workspace = try DriverWorkspace(OverlayDriver.self, root: nil, scratchDirectory: "\(stateDirectory)/scratch/\(runID)-\(step)",
                                            scratchSize: 1 << 30, journal: journal)
        } catch {
            _ = try? journal.teardown()
            throw error
        }
        defer {
            do { try workspace.close() } catch { Diagnostics.warn("teardown of claim \(step): \(error)") }
        }
        let image = try workspace.driver.prepare(try ImageCatalog(stateDirectory: stateDirectory, journal: journal).resolve("busybox"))
        return try body(workspace, image, journal)
    }

    /// A configuration with the claims' defaults: few instances, one warm-up.
    static func configuration(_ driver: String, image: String, workload: Workload, instances: Int, block: Int) -> RunConfiguration {
        var c = RunConfiguration(driver: driver)
        c.image = image
        c.workload = workload
        c.instances = instances
        c.block = block
        c.warmup = 1
        c.usageEvery = 1 << 30
        c.maxFailures = 3
        return c
    }
}

/// The claims `cowbench claims` checks, in the order it prints them.
public enum Claims {
    public static let all: [any ClaimCheck] = [
        PageCacheClaim(), CopyUpClaim(), LayerLookupClaim(), RedirectDirClaim(),
        UnmountSyncClaim(), SequentialWriteClaim(), MetadataExhaustionClaim(),
    ]

    public static var ids: [String] { all.map(\.id) }

    /// Checks each claim in turn and hands each result over as it is known.
    public static func run(_ checks: [any ClaimCheck], context: ClaimContext,
                           onResult: (ClaimResult) throws -> Void) throws -> [ClaimResult] {
        var results: [ClaimResult] = []
        for c in checks where !StopRequest.requested {
            context.status("claim \(c.id): measuring")
            let start = Clock.now()
            var r = ClaimResult(id: c.id, claim: c.claim, source: c.source, figures: [], threshold: c.threshold, verdict: .cannotTest)
            do {
                let (figures, judgement) = try c.check(context)
                (r.figures, r.verdict, r.reason) = (figures, judgement.verdict, judgement.reason)
            } catch {
                if StopRequest.requested { break }
                r.reason = "\(error)"
            }
            r.seconds = Clock.since(start)
            results.append(r)
            try onResult(r)
        }
        return results
    }

    /// Holds when the whole 95% interval lies above `factor`, does not hold
    /// when it lies wholly at or below it; an interval that straddles it
    /// decides nothing, and says so, rather than call noise a refutation.
    static func exceeds(_ e: Estimate, _ factor: Double, claim id: String) -> ClaimJudgement {
        guard let i = e.interval else {
            return .cannotTest("too few instances for a 95% interval of the ratio; rerun `cowbench claims --only \(id)`")
        }
        if i.lowerBound > factor { return .holds }
        if i.upperBound <= factor { return .doesNotHold }
        return .cannotTest("the ratio's 95% interval [\(ratioText(i.lowerBound)), \(ratioText(i.upperBound))] straddles "
            + "\(ratioText(factor)): the host was too noisy to decide; rerun `cowbench claims --only \(id)` when it is quieter")
    }

    private static func ratioText(_ x: Double) -> String { String(format: "%.2f×", x) }
}
