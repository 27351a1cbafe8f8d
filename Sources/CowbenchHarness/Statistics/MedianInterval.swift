import Glibc

/// The distribution-free 95% confidence interval of a median: the order
/// statistics x(j) and x(n+1-j) with the largest j such that
/// P(Binomial(n, 1/2) < j) ≤ 2.5%. It needs no assumption about the shape of
/// the distribution, which for latencies is skewed and often bimodal.
public enum MedianInterval {
    /// The 1-based ranks (low, high) bounding the median at 95%, or nil when
    /// n is too small for any pair of order statistics to reach 95% (n < 6).
    public static func ranks(count n: Int, confidence: Double = 0.95) -> (low: Int, high: Int)? {
        guard n >= 1 else { return nil }
        let alpha = (1 - confidence) / 2
        // P(X ≤ k) for X ~ Binomial(n, 1/2), accumulated in log space so large n stay exact enough.
        var cdf = 0.0
        var logTerm = Double(-n) * ln2  // log(C(n,0) / 2^n)
        var j = 0
        for k in 0..<n {
            cdf += exp(logTerm)
            if cdf > alpha { break }
            j = k + 1  // P(X < j) = P(X ≤ k) ≤ alpha
            logTerm += log(Double(n - k)) - log(Double(k + 1))
        }
        guard j >= 1 else { return nil }
        return (j, n + 1 - j)
    }

    /// The interval of `sorted` values' median, or nil when there are too few.
    public static func of(sorted: [Double], confidence: Double = 0.95) -> ClosedRange<Double>? {
        guard let (lo, hi) = ranks(count: sorted.count, confidence: confidence) else { return nil }
        return sorted[lo - 1]...sorted[hi - 1]
    }

    private static let ln2 = 0.6931471805599453
}

/// A median with its interval, as every figure cowbench prints carries.
public struct Estimate: Sendable, Equatable {
    public var value: Double
    /// nil when there were too few samples for a 95% interval.
    public var interval: ClosedRange<Double>?

    public init(_ value: Double, _ interval: ClosedRange<Double>?) {
        self.value = value
        self.interval = interval
    }

    /// The ratio self/other with a conservative interval: the extremes of the
    /// two intervals divided crosswise. Wider than a bootstrap would give,
    /// so a ratio it calls significant is significant.
    public func ratio(to other: Estimate) -> Estimate? {
        guard other.value > 0 else { return nil }
        let r = value / other.value
        guard let a = interval, let b = other.interval, b.lowerBound > 0 else { return Estimate(r, nil) }
        return Estimate(r, (a.lowerBound / b.upperBound)...(a.upperBound / b.lowerBound))
    }

    /// Whether the interval lies wholly on one side of `value` (1 for ratios).
    public func excludes(_ value: Double) -> Bool {
        guard let i = interval else { return false }
        return !i.contains(value)
    }
}

