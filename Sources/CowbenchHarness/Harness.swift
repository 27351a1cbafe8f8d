import CowbenchCore
import Foundation
import Glibc

/// Starts many short-lived instances and measures each phase: create the
/// rootfs, start the image's own process in its box (clone into new
/// namespaces, pivot_root, exec), run the workload to its exit, destroy the
/// rootfs.
///
/// With one configuration it is a plain run; with several it interleaves
/// them: every round runs one block of each driver, in an order shuffled
/// from `seed`, so drift on a shared host hits every driver alike.
///
/// Results stream out through `onResult` one instance at a time, so nothing
/// grows with the number of instances but the histograms' fixed buckets.
public final class Harness {
    public let configurations: [RunConfiguration]
    public let stateDirectory: String
    public let runID: String
    public let version: String

    public init(configurations: [RunConfiguration], stateDirectory: String, runID: String, version: String) {
        self.configurations = configurations
        self.stateDirectory = stateDirectory
        self.runID = runID
        self.version = version
    }

    public convenience init(configuration: RunConfiguration, stateDirectory: String, runID: String, version: String) {
        self.init(configurations: [configuration], stateDirectory: stateDirectory, runID: runID, version: version)
    }

    /// What the caller hears while a run goes: a line of status (opening a
    /// driver, warm-ups) and the count of measured instances done.
    public struct Progress: Sendable {
        public var status: @Sendable (String) -> Void
        public var instances: @Sendable (_ done: Int, _ total: Int) -> Void
        public init(status: @escaping @Sendable (String) -> Void = { _ in },
                    instances: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
            self.status = status
            self.instances = instances
        }
    }

    /// The round order for `round`: the same seed always gives the same order.
    public static func order(count: Int, round: Int, seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: seed &+ UInt64(round) &* 0x9E37_79B9)
        return Array(0..<count).shuffled(using: &rng)
    }

    /// Opens every driver, runs the rounds, and returns a summary per
    /// configuration, in the order given. `afterRound` gets the summaries
    /// so far, so callers can write them as the run goes.
    public func run(progress: Progress = Progress(),
                    afterRound: (([RunSummary]) throws -> Void)? = nil,
                    onResult: @escaping (InstanceResult, RunEnvironment) throws -> Void) throws -> [RunSummary] {
        var sessions: [DriverSession] = []
        defer { for s in sessions.reversed() { s.close() } }
        for c in configurations where !StopRequest.requested {
            progress.status("\(c.driver): preparing \(c.image) and \(c.warmup) warm-up instance\(c.warmup == 1 ? "" : "s")")
            sessions.append(try DriverSession(configuration: c, stateDirectory: stateDirectory, runID: runID, version: version,
                                              warmupProgress: { done, total in progress.status("\(c.driver): warm-up \(done)/\(total)") }))
        }
        let total = configurations.reduce(0) { $0 + $1.instances }
        let seed = configurations.first?.seed ?? 1
        let rounds = configurations.map(\.rounds).max() ?? 0
        for round in 0..<rounds where !StopRequest.requested {
            for i in Self.order(count: sessions.count, round: round, seed: seed) where !StopRequest.requested {
                let others = sessions.indices.filter { $0 != i }.reduce(0) { $0 + sessions[$1].measured }
                try sessions[i].runBlock(round: round, progress: { done in progress.instances(others + done, total) },
                                         onResult: onResult)
            }
            try afterRound?(sessions.map(\.summary))
        }
        var summaries: [RunSummary] = []
        for s in sessions { summaries.append(try s.finish()) }
        try afterRound?(summaries)
        return summaries
    }
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
