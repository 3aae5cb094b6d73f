import Foundation

/// Minimal SVG charts written directly (no plotting stack): line plots with confidence bands
/// and heatmaps.
public enum SVG {
  public struct Series: Sendable {
    public let label: String
    public let x: [Double]
    public let y: [Double]
    /// Optional band (lower, upper) per point.
    public let band: [(Double, Double)]?
    /// A fixed colour (default: the palette, in legend order), a dashed or thin line, and
    /// whether the series has a legend entry (many lines of one kind share the first's).
    public var color: String?
    public var dashed = false
    public var thin = false
    public var inLegend = true
    public init(label: String, x: [Double], y: [Double], band: [(Double, Double)]? = nil) {
      self.label = label; self.x = x; self.y = y; self.band = band
    }
  }

  static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func f(_ v: Double) -> String { String(format: "%.2f", v) }

  /// At most `n` characters, the last an ellipsis when cut (labels must fit their space).
  static func clip(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }

  /// Tick values on 1-2-5 steps (…, 0.1, 0.2, 0.5, 1, 2, 5, 10, …) inside [lo, hi], about `count`
  /// intervals apart; `integers` keeps the step at least 1 (rounds).
  public static func ticks(_ lo: Double, _ hi: Double, count: Int = 5, integers: Bool = false) -> [Double] {
    guard lo.isFinite, hi.isFinite, hi > lo else { return lo.isFinite ? [lo] : [] }
    let step = tickStep(lo, hi, count: count, integers: integers)
    let first = (lo / step - 1e-9).rounded(.up)
    var out: [Double] = []
    var k = first
    while k * step <= hi + step * 1e-9 {
      out.append(k * step + 0)  // + 0: no "-0"
      k += 1
    }
    return out
  }

  static func tickStep(_ lo: Double, _ hi: Double, count: Int, integers: Bool) -> Double {
    let raw = (hi - lo) / Double(max(1, count))
    let magnitude = pow(10, (log10(raw)).rounded(.down))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? 10 * magnitude
    return integers ? max(step, 1) : step
  }

  /// A tick's text with as many decimals as its step needs (0.2 → "0.2", 20 → "20").
  static func tickLabel(_ v: Double, step: Double) -> String {
    String(format: "%.\(max(0, Int((-log10(step) - 1e-9).rounded(.up))))f", v)
  }

  /// How a line plot's x axis is drawn: `rounds` (linear, six whole-number ticks), or `values`
  /// (ticks at the data's distinct x values, printed with `format`; `log` spaces them
  /// logarithmically, for query budgets) — with a marker at every point.
  public enum XAxis: Sendable {
    case rounds
    case values(format: String, log: Bool)
  }

  /// A line plot; y is clamped to [yMin, yMax].
  public static func linePlot(
    title: String, xLabel: String, yLabel: String, series: [Series],
    yMin: Double = 0, yMax: Double = 1, width: Double = 900, height: Double = 420, xAxis: XAxis = .rounds, legendWidth: Double = 340
  ) -> String {
    let left = 60.0, right = legendWidth, top = 40.0, bottom = 50.0
    let pw = width - left - right, ph = height - top - bottom
    var log = false
    if case .values(_, let l) = xAxis { log = l && series.allSatisfy { $0.x.allSatisfy { $0 > 0 } } }
    func t(_ x: Double) -> Double { log ? log10(x) : x }
    let xs = series.flatMap(\.x).map(t)
    let x0 = xs.min() ?? 0
    let x1: Double
    if case .rounds = xAxis { x1 = max(xs.max() ?? 1, x0 + 1) } else { x1 = max(xs.max() ?? 1, x0 + 1e-9) }
    func px(_ x: Double) -> Double { left + (t(x) - x0) / (x1 - x0) * pw }
    func py(_ y: Double) -> Double { top + ph - (min(max(y, yMin), yMax) - yMin) / (yMax - yMin) * ph }
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(clip(title, 90)))</text>\n"
    let yStep = tickStep(yMin, yMax, count: 5, integers: false)
    for y in ticks(yMin, yMax) {
      s += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(y)))\" stroke=\"#ddd\"/>"
      s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(tickLabel(y, step: yStep))</text>\n"
    }
    if case .rounds = xAxis {
      for x in ticks(x0, x1, count: 6, integers: true) {
        s += "<line x1=\"\(f(px(x)))\" y1=\"\(f(top))\" x2=\"\(f(px(x)))\" y2=\"\(f(top + ph))\" stroke=\"#eee\"/>"
        s += "<text x=\"\(f(px(x)))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(Int(x.rounded()))</text>\n"
      }
    }
    if case .values(let format, _) = xAxis {
      for x in Set(series.flatMap(\.x)).sorted() {
        s += "<line x1=\"\(f(px(x)))\" y1=\"\(f(top + ph))\" x2=\"\(f(px(x)))\" y2=\"\(f(top + ph + 4))\" stroke=\"#333\"/>"
        s += "<text x=\"\(f(px(x)))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(String(format: format, x))</text>\n"
      }
    }
    s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
    s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
    s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    var entries = 0
    for ser in series {
      let color = ser.color ?? palette[entries % palette.count]
      if let band = ser.band, band.count == ser.x.count, !band.isEmpty {
        let upper = zip(ser.x, band).map { "\(f(px($0))),\(f(py($1.1)))" }
        let lower = zip(ser.x, band).reversed().map { "\(f(px($0))),\(f(py($1.0)))" }
        s += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
      }
      let pts = zip(ser.x, ser.y).map { "\(f(px($0))),\(f(py($1)))" }.joined(separator: " ")
      let stroke = "stroke=\"\(color)\" stroke-width=\"\(ser.thin ? 1 : 2)\"\(ser.dashed ? " stroke-dasharray=\"6 3\"" : "")"
      s += "<polyline points=\"\(pts)\" fill=\"none\" \(stroke)/>\n"
      if case .values = xAxis {
        for (x, y) in zip(ser.x, ser.y) { s += "<circle cx=\"\(f(px(x)))\" cy=\"\(f(py(y)))\" r=\"3.5\" fill=\"\(color)\"/>" }
        s += "\n"
      }
      guard ser.inLegend else { continue }
      let ly = top + 14 + Double(entries) * 18
      entries += 1
      s +=
        "<line x1=\"\(f(left + pw + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + pw + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"3\"\(ser.dashed ? " stroke-dasharray=\"6 3\"" : "")/>"
      s += "<text x=\"\(f(left + pw + 38))\" y=\"\(f(ly))\">\(escape(clip(ser.label, max(8, Int((right - 60) / 7)))))</text>\n"
    }
    return s + "</svg>\n"
  }

  /// Small multiples: one line plot per panel (title, series), two panels a row, on one canvas;
  /// every panel has the same axes, so the same series label keeps its colour across panels.
  public static func smallMultiples(
    title: String, xLabel: String, yLabel: String, panels: [(title: String, series: [Series])], columns: Int = 2, yMax: Double = 1
  ) -> String {
    let pw = 620.0, ph = 320.0, head = 36.0
    let rows = (panels.count + columns - 1) / columns
    let width = pw * Double(min(columns, panels.count)), height = head + ph * Double(rows)
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">\(escape(clip(title, 120)))</text>\n"
    for (k, panel) in panels.enumerated() {
      let x = pw * Double(k % columns), y = head + ph * Double(k / columns)
      // A panel's legend holds the other grid keys' values alone: a narrower legend column.
      let inner = linePlot(
        title: panel.title, xLabel: xLabel, yLabel: yLabel, series: panel.series, yMax: yMax, width: pw, height: ph, legendWidth: 200)
      // The panel as a nested <svg> placed at (x, y): its own coordinates, clipped to its box.
      s += inner.replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"\(f(x))\" y=\"\(f(y))\" ")
    }
    return s + "</svg>\n"
  }

  /// A colour scale fitted to `values` (their minimum to maximum), or `fallback` when they do
  /// not spread (one value, or none).
  public static func fittedRange(_ values: [Double], fallback: ClosedRange<Double> = 0...1) -> ClosedRange<Double> {
    let finite = values.filter(\.isFinite)
    guard let lo = finite.min(), let hi = finite.max(), hi - lo > 1e-9 else { return fallback }
    return lo...hi
  }

  /// The colour of `t` ∈ [0, 1]: white → dark blue; `diverging`: dark red → white (0.5) → dark blue.
  static func shade(_ t: Double, diverging: Bool = false) -> String {
    let t = min(max(t, 0), 1)
    guard diverging else { return String(format: "rgb(%d,%d,%d)", Int(247 - t * 239), Int(251 - t * 203), Int(255 - t * 148)) }
    let i = abs(t - 0.5) * 2
    // Rounded, not truncated (floating noise would turn 144 into 143.99… → 143).
    func c(_ drop: Double) -> Int { Int((255 - i * drop).rounded()) }
    return t < 0.5 ? String(format: "rgb(%d,%d,%d)", c(77), c(231), c(212)) : String(format: "rgb(%d,%d,%d)", c(222), c(153), c(83))
  }

  /// A heatmap (nil cells grey), coloured from `range`'s lower end (white) to its upper (dark
  /// blue) with a colour bar, annotated with the values in `format` (and ± `errors`, when
  /// given); `rowTitle` and `columnTitle` name the axes. `diverging`: dark red at the lower end,
  /// white in the middle, dark blue at the upper (for differences, with a range symmetric around 0).
  public static func heatmap(
    title: String, rowLabels: [String], columnLabels: [String], values: [[Double?]], range: ClosedRange<Double> = 0...1,
    format: String = "%.3f", rowTitle: String? = nil, columnTitle: String? = nil, errors: [[Double?]]? = nil, diverging: Bool = false
  ) -> String {
    // Columns as wide as their longest label needs (about 7.2 px a character at 12 px), 120–220 px.
    let longest = Double(columnLabels.map(\.count).max() ?? 0)
    let cellW = min(220, max(120, 7.2 * longest + 12)), cellH = 34.0, left = 240.0, top = columnTitle == nil ? 70.0 : 90.0
    let barW = 110.0, columnChars = Int((cellW - 12) / 7.2)
    let width = left + cellW * Double(columnLabels.count) + 20 + barW
    let height = max(top + cellH * Double(rowLabels.count) + 20, top + 150)
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"10\" y=\"22\" font-size=\"15\">\(escape(clip(title, Int((width - 20) / 8.5))))</text>\n"
    if let columnTitle {
      s +=
        "<text x=\"\(f(left + cellW * Double(columnLabels.count) / 2))\" y=\"\(f(top - 34))\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(columnTitle))</text>\n"
    }
    if let rowTitle {
      s += "<text x=\"10\" y=\"\(f(top - 10))\" font-weight=\"bold\">\(escape(clip(rowTitle, 30)))</text>\n"
    }
    // The colour bar: the scale's ends and middle.
    let barX = left + cellW * Double(columnLabels.count) + 30, barH = 120.0
    for k in 0..<24 {
      let t = 1 - Double(k) / 23
      s +=
        "<rect x=\"\(f(barX))\" y=\"\(f(top + barH * Double(k) / 24))\" width=\"16\" height=\"\(f(barH / 24 + 0.5))\" fill=\"\(shade(t, diverging: diverging))\"/>"
    }
    s += "<rect x=\"\(f(barX))\" y=\"\(f(top))\" width=\"16\" height=\"\(f(barH))\" fill=\"none\" stroke=\"#333\"/>\n"
    for (t, v) in [(0.0, range.upperBound), (0.5, (range.lowerBound + range.upperBound) / 2), (1.0, range.lowerBound)] {
      s += "<text x=\"\(f(barX + 22))\" y=\"\(f(top + barH * t + 4))\">\(String(format: format, v))</text>\n"
    }
    for (j, c) in columnLabels.enumerated() {
      s +=
        "<text x=\"\(f(left + cellW * (Double(j) + 0.5)))\" y=\"\(f(top - 10))\" text-anchor=\"middle\">\(escape(clip(c, columnChars)))</text>\n"
    }
    for (i, r) in rowLabels.enumerated() {
      s +=
        "<text x=\"\(f(left - 8))\" y=\"\(f(top + cellH * (Double(i) + 0.6)))\" text-anchor=\"end\">\(escape(clip(r, 30)))</text>\n"
      for j in columnLabels.indices {
        let v = i < values.count && j < values[i].count ? values[i][j] : nil
        let fill =
          v.map {
            shade(
              range.upperBound > range.lowerBound ? ($0 - range.lowerBound) / (range.upperBound - range.lowerBound) : 0,
              diverging: diverging)
          }
          ?? "#eee"
        let x = left + cellW * Double(j), y = top + cellH * Double(i)
        s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cellW))\" height=\"\(f(cellH))\" fill=\"\(fill)\" stroke=\"white\"/>"
        let level = v.map { range.upperBound > range.lowerBound ? ($0 - range.lowerBound) / (range.upperBound - range.lowerBound) : 0 } ?? 0
        let textColor = (diverging ? abs(level - 0.5) * 2 > 0.6 : level > 0.55) ? "white" : "black"
        s +=
          "<text x=\"\(f(x + cellW / 2))\" y=\"\(f(y + cellH * 0.62))\" text-anchor=\"middle\" fill=\"\(textColor)\">\(escape(cellText(v, errors?[safe: i]?[safe: j] ?? nil, format)))</text>\n"
      }
    }
    return s + "</svg>\n"
  }

  /// Horizontal bars, one per label, on a scale from 0 to `maximum`, each annotated with its
  /// value in `format`; `errors` (half-widths, nil for none) draws whiskers at value ± error;
  /// `marks` draws labelled vertical reference lines (chance, a threshold, a paper's figure).
  public static func bars(
    title: String, labels: [String], values: [Double], maximum: Double, format: String = "%.0f", axisLabel: String,
    marks: [(value: Double, label: String)] = [], errors: [Double?] = []
  ) -> String {
    let left = 300.0, barH = 26.0, top = marks.isEmpty ? 50.0 : 66.0, plotW = 480.0
    let width = left + plotW + 80, height = top + barH * Double(labels.count) + 60
    func px(_ v: Double) -> Double { left + min(max(v, 0), maximum) / max(maximum, 1e-12) * plotW }
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"10\" y=\"22\" font-size=\"15\">\(escape(clip(title, 95)))</text>\n"
    for (i, (label, v)) in zip(labels, values).enumerated() {
      let y = top + barH * Double(i)
      s += "<text x=\"\(f(left - 8))\" y=\"\(f(y + barH * 0.65))\" text-anchor=\"end\">\(escape(clip(label, 40)))</text>"
      s += "<rect x=\"\(f(left))\" y=\"\(f(y + 4))\" width=\"\(f(px(v) - left))\" height=\"\(f(barH - 8))\" fill=\"\(palette[0])\"/>"
      var textX = px(v) + 6
      if i < errors.count, let e = errors[i] {
        let (lo, hi, mid) = (px(v - e), px(v + e), y + barH / 2)
        s += "<line x1=\"\(f(lo))\" y1=\"\(f(mid))\" x2=\"\(f(hi))\" y2=\"\(f(mid))\" stroke=\"#222\"/>"
        s += "<line x1=\"\(f(lo))\" y1=\"\(f(mid - 5))\" x2=\"\(f(lo))\" y2=\"\(f(mid + 5))\" stroke=\"#222\"/>"
        s += "<line x1=\"\(f(hi))\" y1=\"\(f(mid - 5))\" x2=\"\(f(hi))\" y2=\"\(f(mid + 5))\" stroke=\"#222\"/>"
        textX = hi + 6
      }
      s += "<text x=\"\(f(textX))\" y=\"\(f(y + barH * 0.65))\">\(String(format: format, v))</text>\n"
    }
    let bottom = top + barH * Double(labels.count)
    s += "<line x1=\"\(f(left))\" y1=\"\(f(bottom))\" x2=\"\(f(left + plotW))\" y2=\"\(f(bottom))\" stroke=\"#333\"/>\n"
    for k in 0...4 {
      let v = maximum * Double(k) / 4
      s += "<text x=\"\(f(px(v)))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(String(format: format, v))</text>"
    }
    s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(bottom + 40))\" text-anchor=\"middle\">\(escape(axisLabel))</text>\n"
    for (k, mark) in marks.enumerated() {
      s +=
        "<line x1=\"\(f(px(mark.value)))\" y1=\"\(f(top - 4))\" x2=\"\(f(px(mark.value)))\" y2=\"\(f(bottom))\" stroke=\"\(palette[3])\" stroke-dasharray=\"4 3\"/>"
      // Near the right end the label ends at its line instead of starting there.
      let anchor =
        px(mark.value) > left + plotW * 0.6 ? "text-anchor=\"end\" x=\"\(f(px(mark.value) - 3))\"" : "x=\"\(f(px(mark.value) + 3))\""
      s += "<text \(anchor) y=\"\(f(top - 8 - Double(k % 2) * 13))\" fill=\"\(palette[3])\">\(escape(mark.label))</text>\n"
    }
    return s + "</svg>\n"
  }
}

extension SVG {
  /// `0.812 ± 0.013`, `0.812`, or `–` for a missing value.
  static func cellText(_ v: Double?, _ e: Double?, _ format: String) -> String {
    guard let v else { return "–" }
    return String(format: format, v) + (e.map { " ± " + String(format: format, $0) } ?? "")
  }
}

extension Array {
  subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
