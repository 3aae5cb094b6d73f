import Foundation
import Runtime

/// `byzsim report RUN_DIR`: the figures of one run, from metrics.jsonl (rounds numbered from 1)
/// and, for what needs the ground truth, truth.json — which only evaluation reads.
/// - test accuracy and test loss per evaluation round;
/// - attack success rate per evaluation round (targeted data attacks);
/// - each worker's update norm per round, the malicious ones (truth.json) in red, dashed;
/// - with auditors: each worker's combined robust z per round (same marking), and the flagged
///   set's precision and recall against the truth per round, with the round of first detection.
enum RunFigures {
  typealias Figure = (file: String, caption: String, svg: String)

  static let honestColor = "#7f9fbf"
  static let maliciousColor = "#d62728"

  /// Nil when the directory holds no metrics.jsonl (not a run) or no evaluated round yet.
  static func figures(_ dir: String) throws -> [Figure]? {
    let run = RunDirectory(path: dir)
    guard FileManager.default.fileExists(atPath: run.metricsFile) else { return nil }
    let metrics = try run.loadMetrics()
    guard metrics.contains(where: { $0.testAccuracy != nil }) else { return nil }
    let name = (dir as NSString).lastPathComponent
    let malicious: Set<Int>
    if FileManager.default.fileExists(atPath: run.truthFile) {
      do {
        malicious = Set(try JSONDecoder.snake.decode(Truth.self, from: Data(contentsOf: URL(fileURLWithPath: run.truthFile))).malicious)
      } catch {
        throw RuntimeError("\(run.truthFile): not the run's ground truth (\(error))")
      }
    } else {
      malicious = []
    }
    var out: [Figure] = []
    // Accuracy, loss and attack success at the evaluation rounds (those recorded in this run).
    for metric in SweepCurves.metrics {
      let points = SweepCurves.points(metrics, metric.value)
      guard !points.y.isEmpty else { continue }
      out.append(
        (
          metric.file, "\(metric.what.capitalizedFirst) per evaluation round (rounds numbered from 1)",
          SVG.linePlot(
            title: "\(name): \(metric.what)", xLabel: "round", yLabel: metric.what,
            series: [SVG.Series(label: metric.what, x: points.x, y: points.y)], yMin: 0, yMax: metric.fitted ? upper(points.y) : 1)
        ))
    }
    out.append(perWorker(metrics, malicious: malicious, name: name, file: "update-norms.svg", what: "update L2 norm") { $0.updateNorms })
    if metrics.contains(where: { $0.audit != nil }) {
      out.append(
        perWorker(metrics, malicious: malicious, name: name, file: "audit-z.svg", what: "auditors' combined robust z") {
          $0.audit?.combined ?? [:]
        })
      if !malicious.isEmpty { out.append(detection(metrics, malicious: malicious, name: name)) }
    }
    return out
  }

  /// A y-axis top a little above the data (at least 1e-9 above 0).
  static func upper(_ values: [Double]) -> Double {
    let top = values.filter(\.isFinite).max() ?? 1
    return top > 0 ? top * 1.05 : 1
  }

  /// One line per worker over the rounds it reported: honest thin and blue-grey, malicious (from
  /// truth.json) red and dashed; one legend entry per kind.
  static func perWorker(
    _ metrics: [RoundMetrics], malicious: Set<Int>, name: String, file: String, what: String,
    _ values: (RoundMetrics) -> [String: Double]
  ) -> Figure {
    var byWorker: [Int: [(Double, Double)]] = [:]
    for m in metrics {
      for (id, v) in values(m) where v.isFinite {
        if let w = Int(id) { byWorker[w, default: []].append((Double(m.round), v)) }
      }
    }
    let all = byWorker.values.flatMap { $0.map(\.1) }
    let lo = min(0, all.min() ?? 0), hi = max(all.max() ?? 1, lo + 1e-9)
    let honest = byWorker.keys.filter { !malicious.contains($0) }.sorted(), bad = byWorker.keys.filter(malicious.contains).sorted()
    var series: [SVG.Series] = []
    for (ids, color, kind) in [(honest, honestColor, "honest"), (bad, maliciousColor, "malicious")] {
      for (k, w) in ids.enumerated() {
        let points = byWorker[w]!
        var s = SVG.Series(label: "\(kind) (\(ids.count) worker\(ids.count == 1 ? "" : "s"))", x: points.map(\.0), y: points.map(\.1))
        s.color = color; s.thin = kind == "honest"; s.dashed = kind == "malicious"; s.inLegend = k == 0
        series.append(s)
      }
    }
    let marked =
      malicious.isEmpty
      ? "no malicious workers in truth.json" : "malicious workers \(bad.map(String.init).joined(separator: ", ")) (truth.json) red, dashed"
    return (
      file, "Each worker's \(what) per round; \(marked)",
      SVG.linePlot(
        title: "\(name): \(what) per worker", xLabel: "round", yLabel: what, series: series, yMin: lo, yMax: hi + (hi - lo) * 0.05)
    )
  }

  /// The flagged set against the truth per round: precision (1 when nothing is flagged) and recall.
  static func detection(_ metrics: [RoundMetrics], malicious: Set<Int>, name: String) -> Figure {
    var precision: [Double] = [], recall: [Double] = [], rounds: [Double] = []
    var first: Int?
    for m in metrics {
      guard let flagged = m.audit.map({ Set($0.flagged) }) else { continue }
      let tp = flagged.intersection(malicious).count
      precision.append(flagged.isEmpty ? 1 : Double(tp) / Double(flagged.count))
      recall.append(Double(tp) / Double(malicious.count))
      rounds.append(Double(m.round))
      if first == nil, tp > 0 { first = m.round }
    }
    var p = SVG.Series(label: "precision", x: rounds, y: precision)
    p.dashed = true
    return (
      "detection.svg",
      "Auditors' flagged set against truth.json per round: precision (1 while nothing is flagged) and recall; first malicious worker flagged at round \(first.map(String.init) ?? "never")",
      SVG.linePlot(
        title: "\(name): detection", xLabel: "round", yLabel: "precision, recall",
        series: [SVG.Series(label: "recall", x: rounds, y: recall), p])
    )
  }
}
