/// Sizes as users write them: `4096`, `16k`, `512M`, `2G` (powers of 1024).
public enum ByteSize {
    public static func parse(_ text: String) -> UInt64? {
        let t = text.trimmingSpaces.lowercased()
        guard let last = t.last else { return nil }
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50]
        var digits = t
        var factor: UInt64 = 1
        if let u = units[last] {
            factor = u
            digits.removeLast()
        } else if t.hasSuffix("ib"), let u = units[t[t.index(t.endIndex, offsetBy: -3)]] {
            factor = u
            digits.removeLast(3)
        }
        if let n = UInt64(digits) {
            guard n > 0 else { return nil }
            let (v, overflow) = n.multipliedReportingOverflow(by: factor)
            return overflow ? nil : v
        }
        // "1.5G": a decimal with a unit, rounded to a whole byte.
        guard factor > 1, digits.allSatisfy({ $0.isNumber || $0 == "." }), let d = Double(digits), d > 0 else { return nil }
        let v = (d * Double(factor)).rounded()
        return v < 1.8e19 ? UInt64(v) : nil
    }

    /// `1.5 MiB` style, for people.
    public static func format(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = bytes, i = 0
        while abs(v) >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        if i == 0 { return "\(Int(v)) B" }
        let r = (v * 10).rounded() / 10
        return "\(r) \(units[i])"
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
