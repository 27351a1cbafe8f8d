import Histogram

/// The phases of one instance's life, in order.
public enum Phase: String, CaseIterable, Sendable {
    case create, start, run, destroy
}

/// A latency distribution in a fixed-size HdrHistogram (nanoseconds, 3
/// significant digits), so memory stays flat however many instances run.
public struct PhaseStatistics: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000_000,
                                              numberOfSignificantValueDigits: .three)

    public init() {}

    public mutating func record(seconds: Double) {
        _ = histogram.record(UInt64(Swift.max(0, seconds * 1e9).rounded()))
    }

    public var count: UInt64 { histogram.totalCount }

    /// The value at `percentile` (0–100), in seconds.
    public func percentile(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1e9 }
    public var median: Double { percentile(50) }
    public var max: Double { Double(histogram.max) / 1e9 }
}
