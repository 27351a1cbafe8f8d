import CowbenchCore

/// A deterministic percentile bootstrap, for figures that are not medians
/// (sustained cost is a ratio of sums over blocks). Seeded, so a report
/// rendered twice from the same rows prints the same interval.
public enum Bootstrap {
    /// The 95% interval of Σnumerator/Σdenominator over resampled blocks.
    public static func ratioOfSums(_ blocks: [(numerator: Double, denominator: Double)], resamples: Int = 2000,
                                   seed: UInt64 = 0x636f_7762_656e_6368) -> ClosedRange<Double>? {
        guard blocks.count >= 3 else { return nil }
        var rng = SplitMix64(seed: seed)
        var estimates: [Double] = []
        estimates.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var num = 0.0, den = 0.0
            for _ in 0..<blocks.count {
                let b = blocks[Int(rng.next() % UInt64(blocks.count))]
                num += b.numerator
                den += b.denominator
            }
            if den > 0 { estimates.append(num / den) }
        }
        guard estimates.count >= resamples / 2 else { return nil }
        estimates.sort()
        let lo = estimates[Int(Double(estimates.count - 1) * 0.025)]
        let hi = estimates[Int((Double(estimates.count - 1) * 0.975).rounded(.up))]
        return lo...hi
    }
}
