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

  /// A line plot; y is clamped to [yMin, yMax].
  public static func linePlot(
    title: String, xLabel: String, yLabel: String, series: [Series],
    yMin: Double = 0, yMax: Double = 1, width: Double = 900, height: Double = 420
  ) -> String {
    let left = 60.0, right = 340.0, top = 40.0, bottom = 50.0
    let pw = width - left - right, ph = height - top - bottom
    let xs = series.flatMap(\.x)
    let x0 = xs.min() ?? 0, x1 = max(xs.max() ?? 1, x0 + 1)
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
    func py(_ y: Double) -> Double { top + ph - (min(max(y, yMin), yMax) - yMin) / (yMax - yMin) * ph }
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(escape(title))</text>\n"
    for k in 0...5 {
      let y = yMin + (yMax - yMin) * Double(k) / 5
      s += "<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(y)))\" stroke=\"#ddd\"/>"
      s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(String(format: "%.2f", y))</text>\n"
      let x = x0 + (x1 - x0) * Double(k) / 5
      s += "<text x=\"\(f(px(x)))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(Int(x.rounded()))</text>\n"
    }
    s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333\"/>\n"
    s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
    s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    for (i, ser) in series.enumerated() {
      let color = palette[i % palette.count]
      if let band = ser.band, band.count == ser.x.count, !band.isEmpty {
        let upper = zip(ser.x, band).map { "\(f(px($0))),\(f(py($1.1)))" }
        let lower = zip(ser.x, band).reversed().map { "\(f(px($0))),\(f(py($1.0)))" }
        s += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\"/>\n"
      }
      let pts = zip(ser.x, ser.y).map { "\(f(px($0))),\(f(py($1)))" }.joined(separator: " ")
      s += "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
      let ly = top + 14 + Double(i) * 18
      s +=
        "<line x1=\"\(f(left + pw + 12))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + pw + 32))\" y2=\"\(f(ly - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>"
      s += "<text x=\"\(f(left + pw + 38))\" y=\"\(f(ly))\">\(escape(String(ser.label.prefix(48))))</text>\n"
    }
    return s + "</svg>\n"
  }

  /// A heatmap (nil cells grey), coloured from `range`'s lower end (white) to its upper (dark
  /// blue), annotated with the values in `format`.
  public static func heatmap(
    title: String, rowLabels: [String], columnLabels: [String], values: [[Double?]], range: ClosedRange<Double> = 0...1,
    format: String = "%.3f"
  ) -> String {
    let cellW = 120.0, cellH = 34.0, left = 240.0, top = 70.0
    let width = left + cellW * Double(columnLabels.count) + 20, height = top + cellH * Double(rowLabels.count) + 20
    var s =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"10\" y=\"22\" font-size=\"15\">\(escape(title))</text>\n"
    for (j, c) in columnLabels.enumerated() {
      s +=
        "<text x=\"\(f(left + cellW * (Double(j) + 0.5)))\" y=\"\(f(top - 10))\" text-anchor=\"middle\">\(escape(String(c.prefix(18))))</text>\n"
    }
    for (i, r) in rowLabels.enumerated() {
      s +=
        "<text x=\"\(f(left - 8))\" y=\"\(f(top + cellH * (Double(i) + 0.6)))\" text-anchor=\"end\">\(escape(String(r.prefix(34))))</text>\n"
      for j in columnLabels.indices {
        let v = i < values.count && j < values[i].count ? values[i][j] : nil
        // white (0) → dark blue (1)
        let fill: String
        if let v {
          let t = range.upperBound > range.lowerBound ? min(max((v - range.lowerBound) / (range.upperBound - range.lowerBound), 0), 1) : 0
          fill = String(format: "rgb(%d,%d,%d)", Int(247 - t * 239), Int(251 - t * 203), Int(255 - t * 148))
        } else {
          fill = "#eee"
        }
        let x = left + cellW * Double(j), y = top + cellH * Double(i)
        s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(cellW))\" height=\"\(f(cellH))\" fill=\"\(fill)\" stroke=\"white\"/>"
        let shade = v.map { range.upperBound > range.lowerBound ? ($0 - range.lowerBound) / (range.upperBound - range.lowerBound) : 0 } ?? 0
        let textColor = shade > 0.55 ? "white" : "black"
        s +=
          "<text x=\"\(f(x + cellW / 2))\" y=\"\(f(y + cellH * 0.62))\" text-anchor=\"middle\" fill=\"\(textColor)\">\(v.map { String(format: format, $0) } ?? "–")</text>\n"
      }
    }
    return s + "</svg>\n"
  }
}
