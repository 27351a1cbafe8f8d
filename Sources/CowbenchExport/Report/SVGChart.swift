import Foundation

/// Inline SVG charts: a title, both axes labelled with units, ticks and a
/// legend, in a viewBox that scales to the page width.
struct LineChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var xLog = false
    var xFormat: (Double) -> String = { Axis.number($0) }
    var yFormat: (Double) -> String = { Axis.number($0) }
    var series: [Series]
    /// Vertical marks with a label, such as the failure point.
    var markers: [(x: Double, label: String)] = []

    static let width = 760.0, height = 400.0
    static let left = 78.0, right = 24.0, top = 40.0, plotBottom = 300.0

    func svg() -> String {
        let all = series.flatMap(\.points).filter { !xLog || $0.x > 0 }
        guard !all.isEmpty else { return "" }
        let xs = Axis(values: all.map(\.x) + markers.map(\.x), log: xLog)
        let ys = Axis(values: all.map(\.y) + [0], log: false)
        let plotW = Self.width - Self.left - Self.right, plotH = Self.plotBottom - Self.top
        let px = { (x: Double) in Self.left + xs.fraction(x) * plotW }
        let py = { (y: Double) in Self.plotBottom - ys.fraction(y) * plotH }
        var s = SVG.open(title: title, height: Self.height)
        s += SVG.axes(xTicks: xs.ticks.map { (px($0), xFormat($0)) }, yTicks: ys.ticks.map { (py($0), yFormat($0)) },
                      xLabel: xLabel, yLabel: yLabel, left: Self.left, right: Self.width - Self.right, top: Self.top, bottom: Self.plotBottom)
        for m in markers {
            let x = SVG.f(px(m.x))
            s += "<line class=\"marker\" x1=\"\(x)\" y1=\"\(SVG.f(Self.top))\" x2=\"\(x)\" y2=\"\(SVG.f(Self.plotBottom))\" stroke=\"#b00\" stroke-dasharray=\"3 3\"/>"
            s += "<text class=\"marker-label\" x=\"\(SVG.f(px(m.x) - 4))\" y=\"\(SVG.f(Self.top + 14))\" text-anchor=\"end\" fill=\"#b00\">"
                + "\(HTML.escape(m.label))</text>"
        }
        for se in series where !se.points.isEmpty {
            let pts = se.points.filter { !xLog || $0.x > 0 }.map { "\(SVG.f(px($0.x))),\(SVG.f(py($0.y)))" }.joined(separator: " ")
            s += "<polyline class=\"series\" data-series=\"\(HTML.escape(se.name))\" fill=\"none\" stroke=\"\(se.color)\" stroke-width=\"2\""
                + (se.dashed ? " stroke-dasharray=\"7 4\"" : "") + " points=\"\(pts)\"/>"
            // Few samples: mark each, so the reader sees where the measurements are.
            if se.points.count <= 40 {
                for p in se.points where !xLog || p.x > 0 {
                    s += "<circle cx=\"\(SVG.f(px(p.x)))\" cy=\"\(SVG.f(py(p.y)))\" r=\"2.5\" fill=\"\(se.color)\"/>"
                }
            }
        }
        s += SVG.legend(series.map { ($0.name, $0.color, $0.dashed) }, y: Self.plotBottom + 58, width: Self.width)
        return s + "</svg>\n"
    }
}

/// Grouped bars: one group per category, one bar per series.
struct BarChart {
    var title: String
    var yLabel: String
    var categories: [String]
    var series: [(name: String, color: String, values: [Double])]
    var yFormat: (Double) -> String = { Axis.number($0) }

    static let height = 430.0, plotBottom = 290.0

    func svg() -> String {
        guard !categories.isEmpty else { return "" }
        let ys = Axis(values: series.flatMap(\.values) + [0], log: false)
        let left = LineChart.left, right = LineChart.width - LineChart.right, top = LineChart.top
        let plotH = Self.plotBottom - top
        let py = { (y: Double) in Self.plotBottom - ys.fraction(y) * plotH }
        let groupW = (right - left) / Double(categories.count)
        let barW = groupW * 0.8 / Double(max(1, series.count))
        var s = SVG.open(title: title, height: Self.height)
        s += SVG.axes(xTicks: [], yTicks: ys.ticks.map { (py($0), yFormat($0)) }, xLabel: "", yLabel: yLabel,
                      left: left, right: right, top: top, bottom: Self.plotBottom)
        for (i, c) in categories.enumerated() {
            let gx = left + groupW * Double(i)
            for (j, se) in series.enumerated() where i < se.values.count {
                let v = se.values[i]
                let y = py(max(0, v))
                s += "<rect class=\"bar\" data-series=\"\(HTML.escape(se.name))\" x=\"\(SVG.f(gx + groupW * 0.1 + barW * Double(j)))\" "
                    + "y=\"\(SVG.f(y))\" width=\"\(SVG.f(barW))\" height=\"\(SVG.f(Self.plotBottom - y))\" fill=\"\(se.color)\">"
                    + "<title>\(HTML.escape("\(se.name): \(yFormat(v))"))</title></rect>"
            }
            let cx = gx + groupW / 2
            s += "<text class=\"category\" transform=\"translate(\(SVG.f(cx)),\(SVG.f(Self.plotBottom + 12))) rotate(-40)\" font-size=\"11\" "
                + "text-anchor=\"end\">\(HTML.escape(c))</text>"
        }
        s += SVG.legend(series.map { ($0.name, $0.color, false) }, y: Self.height - 18, width: LineChart.width)
        return s + "</svg>\n"
    }
}

/// An axis: domain from the values, "nice" ticks, linear or log10.
struct Axis {
    let lo: Double, hi: Double, log: Bool
    let ticks: [Double]

    init(values: [Double], log: Bool) {
        self.log = log
        if log {
            let positive = values.filter { $0 > 0 }
            let a = Foundation.log10(positive.min() ?? 1e-6), b = Foundation.log10(positive.max() ?? 1)
            let l = a.rounded(.down), h = max(b.rounded(.up), l + 1)
            lo = l
            hi = h
            ticks = stride(from: l, through: h, by: 1).map { Foundation.pow(10, $0) }
        } else {
            let mn = values.min() ?? 0, mx = values.max() ?? 1
            let span = mx - mn > 0 ? mx - mn : max(abs(mx), 1)
            let raw = span / 5
            let mag = Foundation.pow(10, Foundation.log10(raw).rounded(.down))
            let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
            let l = (mn / step).rounded(.down) * step, h = max((mx / step).rounded(.up) * step, l + step)
            lo = l
            hi = h
            ticks = stride(from: l, through: h + step / 2, by: step).map { $0 }
        }
    }

    func fraction(_ v: Double) -> Double {
        let x = log ? Foundation.log10(max(v, 1e-12)) : v
        return hi > lo ? min(1, max(0, (x - lo) / (hi - lo))) : 0
    }

    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.3g", v)
    }

    static func duration(_ v: Double) -> String {
        switch v {
        case ..<1e-6: String(format: "%.0f ns", v * 1e9)
        case ..<1e-3: String(format: "%.0f µs", v * 1e6)
        case ..<1: String(format: "%.0f ms", v * 1e3)
        default: String(format: "%.0f s", v)
        }
    }
}

enum SVG {
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func open(title: String, height: Double) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(LineChart.width)) \(f(height))\" role=\"img\" "
            + "font-family=\"system-ui, sans-serif\" font-size=\"12\" aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"
            + "<text class=\"chart-title\" x=\"\(f(LineChart.width / 2))\" y=\"18\" text-anchor=\"middle\">\(HTML.escape(title))</text>"
    }

    static func axes(xTicks: [(Double, String)], yTicks: [(Double, String)], xLabel: String, yLabel: String,
                     left: Double, right: Double, top: Double, bottom: Double) -> String {
        var s = "<g class=\"axis x-axis\"><line x1=\"\(f(left))\" y1=\"\(f(bottom))\" x2=\"\(f(right))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>"
        for (x, label) in xTicks {
            s += "<line x1=\"\(f(x))\" y1=\"\(f(bottom))\" x2=\"\(f(x))\" y2=\"\(f(bottom + 5))\" stroke=\"#333\"/>"
                + "<text x=\"\(f(x))\" y=\"\(f(bottom + 18))\" text-anchor=\"middle\">\(HTML.escape(label))</text>"
        }
        if !xLabel.isEmpty {
            s += "<text class=\"axis-label\" x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 38))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        }
        s += "</g><g class=\"axis y-axis\"><line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>"
        for (y, label) in yTicks {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
                + "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(HTML.escape(label))</text>"
        }
        s += "<text class=\"axis-label\" transform=\"translate(16,\(f((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">"
            + "\(HTML.escape(yLabel))</text></g>"
        return s
    }

    static func legend(_ items: [(String, String, Bool)], y: Double, width: Double) -> String {
        var s = "<g class=\"legend\">"
        let perRow = 4, itemW = (width - 100) / Double(perRow)
        for (i, item) in items.enumerated() {
            let x = 60 + itemW * Double(i % perRow), yy = y + 18 * Double(i / perRow)
            s += "<line x1=\"\(f(x))\" y1=\"\(f(yy - 4))\" x2=\"\(f(x + 22))\" y2=\"\(f(yy - 4))\" stroke=\"\(item.1)\" stroke-width=\"3\""
                + (item.2 ? " stroke-dasharray=\"7 4\"" : "") + "/><text x=\"\(f(x + 28))\" y=\"\(f(yy))\">\(HTML.escape(item.0))</text>"
        }
        return s + "</g>"
    }
}
