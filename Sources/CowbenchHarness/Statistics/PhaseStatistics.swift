import Histogram

/// The phases of one instance's life, in order.
public enum Phase: String, CaseIterable, Sendable {
    case create, start, run, destroy
}

/// A latency distribution in a fixed-size HdrHistogram (nanoseconds, 3
/// significant digits), so memory stays flat however many instances run.
/// Order statistics read from the histogram are exact to 0.1%, which is far
/// inside any interval this machine's noise gives.
public struct PhaseStatistics: Sendable {
    private static let highest: UInt64 = 3_600_000_000_000
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highest,
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
    public var mean: Double { histogram.mean / 1e9 }
    public var standardDeviation: Double { histogram.stdDeviation / 1e9 }

    /// The value of the k-th smallest sample (1-based).
    public func value(rank k: Int) -> Double {
        let n = Double(count)
        // valueAtPercentile returns the smallest value with at least p% of samples at or below it.
        return percentile(Swift.min(100, (Double(k) - 0.5) / n * 100))
    }

    /// The median with its 95% order-statistic interval.
    public var medianEstimate: Estimate {
        guard let (lo, hi) = MedianInterval.ranks(count: Int(count)) else { return Estimate(median, nil) }
        return Estimate(median, value(rank: lo)...value(rank: hi))
    }

    /// Samples beyond Tukey's far fences (Q1 − 3·IQR, Q3 + 3·IQR).
    public var farOutliers: UInt64 {
        guard count >= 4 else { return 0 }
        let q1 = percentile(25), q3 = percentile(75), iqr = q3 - q1
        let high = UInt64(((q3 + 3 * iqr) * 1e9).rounded(.up)), low = (q1 - 3 * iqr) * 1e9
        var n = high < Self.highest ? histogram.count(within: high...Self.highest) : 0
        if low > 0 { n += histogram.count(within: 0...UInt64(low)) }
        return n
    }
}
