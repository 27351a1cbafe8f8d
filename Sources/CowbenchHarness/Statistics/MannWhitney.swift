import Glibc

/// The Mann–Whitney U test (Wilcoxon rank-sum), as benchstat uses it: does
/// one sample tend to be larger than the other? Distribution-free, so it
/// suits latencies.
public enum MannWhitney {
    /// The two-sided p-value, by the normal approximation with a tie
    /// correction and continuity correction; nil when either sample is empty
    /// or every value is tied.
    public static func pValue(_ x: [Double], _ y: [Double]) -> Double? {
        let n1 = Double(x.count), n2 = Double(y.count)
        guard n1 > 0, n2 > 0 else { return nil }
        var all = x.map { ($0, 0) } + y.map { ($0, 1) }
        all.sort { $0.0 < $1.0 }
        var rankSumX = 0.0, tieTerm = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count && all[j + 1].0 == all[i].0 { j += 1 }
            let rank = Double(i + j + 2) / 2  // average of 1-based ranks i+1 ... j+1
            let t = Double(j - i + 1)
            tieTerm += t * t * t - t
            for k in i...j where all[k].1 == 0 { rankSumX += rank }
            i = j + 1
        }
        let u = rankSumX - n1 * (n1 + 1) / 2
        let mean = n1 * n2 / 2
        let n = n1 + n2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        guard variance > 0 else { return nil }
        let z = (abs(u - mean) - 0.5) / variance.squareRoot()
        return min(1, erfc(max(0, z) / 2.0.squareRoot()))
    }
}
