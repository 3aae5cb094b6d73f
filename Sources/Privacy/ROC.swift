import Foundation

/// The receiver operating characteristic of a membership score (higher = "member"), and the
/// figures membership-inference papers report from it (Carlini et al. 2022, §3: TPR at a low
/// FPR, not only accuracy).
public struct ROC: Sendable {
  /// (false-positive rate, true-positive rate) at every distinct threshold, from (0, 0) to
  /// (1, 1); tied scores enter together.
  public let points: [(fpr: Double, tpr: Double)]
  /// Area under the curve: P(score of a member > score of a non-member) + ½·P(tie), the
  /// Mann–Whitney statistic (equal to the trapezoidal area of `points`).
  public let auc: Double
  /// max over thresholds of (TPR + TNR)/2: the accuracy on a balanced set of the best threshold
  /// attacker (an upper bound on any one threshold's).
  public let balancedAccuracy: Double

  public init(scores: [Double], isMember: [Bool]) {
    precondition(scores.count == isMember.count, "one membership label per score")
    let positives = isMember.filter { $0 }.count, negatives = isMember.count - positives
    precondition(positives > 0 && negatives > 0, "an ROC needs members and non-members")
    precondition(scores.allSatisfy { !$0.isNaN }, "a membership score is NaN")
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var points: [(fpr: Double, tpr: Double)] = [(0, 0)]
    var tp = 0, fp = 0
    var area = 0.0
    var best = 0.5
    var k = 0
    while k < order.count {
      let s = scores[order[k]]
      var dtp = 0, dfp = 0
      while k < order.count && scores[order[k]] == s {
        if isMember[order[k]] { dtp += 1 } else { dfp += 1 }
        k += 1
      }
      // The trapezoid over this tie group: its false positives times the mean height.
      area += Double(dfp) * (Double(tp) + Double(dtp) / 2)
      tp += dtp
      fp += dfp
      let tpr = Double(tp) / Double(positives), fpr = Double(fp) / Double(negatives)
      points.append((fpr, tpr))
      best = max(best, (tpr + 1 - fpr) / 2)
    }
    self.points = points
    auc = area / (Double(positives) * Double(negatives))
    balancedAccuracy = best
  }

  /// The largest TPR among thresholds whose FPR is at most `fpr` (no interpolation: with
  /// fewer than 1/fpr non-members, only a threshold with no false positive qualifies).
  public func tpr(atFPR fpr: Double) -> Double {
    points.filter { $0.fpr <= fpr + 1e-15 }.map(\.tpr).max() ?? 0
  }

  /// An SVG of several ROC curves on log–log axes (10⁻³ … 1 for FPR, 10⁻³ … 1 for TPR), the
  /// chance diagonal dashed, as Carlini et al. draw them.
  public static func svg(_ curves: [(name: String, roc: ROC)], title: String) -> String {
    let w = 520.0, h = 420.0, left = 60.0, top = 40.0, size = 320.0
    let floor = 1e-3
    func x(_ v: Double) -> Double { left + (log10(max(v, floor)) + 3) / 3 * size }
    func y(_ v: Double) -> Double { top + size - (log10(max(v, floor)) + 3) / 3 * size }
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    var out = """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
      <title>\(escape(title))</title>
      <text x="\(left)" y="20" font-size="14">\(escape(title))</text>
      <rect x="\(left)" y="\(top)" width="\(size)" height="\(size)" fill="none" stroke="#444"/>

      """
    for e in 0...3 {
      let v = pow(10, Double(-e))
      out += "<line x1=\"\(x(v))\" y1=\"\(top)\" x2=\"\(x(v))\" y2=\"\(top + size)\" stroke=\"#ddd\"/>"
      out += "<line x1=\"\(left)\" y1=\"\(y(v))\" x2=\"\(left + size)\" y2=\"\(y(v))\" stroke=\"#ddd\"/>"
      out += "<text x=\"\(x(v) - 12)\" y=\"\(top + size + 16)\">1e-\(e)</text>"
      out += "<text x=\"\(left - 40)\" y=\"\(y(v) + 4)\">1e-\(e)</text>\n"
    }
    out += "<text x=\"\(left + size / 2 - 50)\" y=\"\(top + size + 34)\">false-positive rate</text>"
    out += "<text x=\"14\" y=\"\(top + size / 2)\" transform=\"rotate(-90 14 \(top + size / 2))\">true-positive rate</text>\n"
    out += "<line x1=\"\(x(floor))\" y1=\"\(y(floor))\" x2=\"\(x(1))\" y2=\"\(y(1))\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n"
    for (i, c) in curves.enumerated() {
      let color = colors[i % colors.count]
      let path = c.roc.points.filter { $0.fpr > 0 }.map { String(format: "%.2f,%.2f", x($0.fpr), y($0.tpr)) }.joined(separator: " ")
      out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
      let ly = top + 14 + Double(i) * 18
      out +=
        "<line x1=\"\(left + size + 12)\" y1=\"\(ly - 4)\" x2=\"\(left + size + 30)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"2\"/>"
      out += "<text x=\"\(left + size + 34)\" y=\"\(ly)\">\(escape(c.name)) (AUC \(String(format: "%.3f", c.roc.auc)))</text>\n"
    }
    return out + "</svg>\n"
  }

  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
  }
}
