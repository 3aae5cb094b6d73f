import Foundation
import Runtime

/// A sweep's curves over rounds (`byzsim report SWEEP_DIR`): per cell, the mean over its seeds of
/// test accuracy, test loss and attack success rate at each evaluation round (from every run's
/// metrics.jsonl, rounds numbered from 1), with the chosen band; a figure per metric that any
/// run recorded. More than `Report.maxSeriesPerPanel` cells with two or more grid keys become
/// small multiples, one panel per value of the first grid key.
enum SweepCurves {
  typealias Figure = (file: String, caption: String, svg: String)

  /// What is drawn: file, title, the value at an evaluated round, and whether the y axis is fitted
  /// to the data (loss is unbounded) or 0–1.
  static let metrics: [(file: String, what: String, value: @Sendable (RoundMetrics) -> Double?, fitted: Bool)] = [
    ("accuracy.svg", "test accuracy", { $0.testAccuracy }, false),
    ("loss.svg", "test loss", { $0.testLoss }, true),
    ("attack-success.svg", "attack success rate", { $0.attackSuccessRate }, false),
  ]

  static func figures(_ spec: SweepSpec, directory dir: String, band: Band) throws -> [Figure] {
    // Each run's metrics, read once; runs not started (or still running without an evaluation) are skipped.
    var runs: [String: [RoundMetrics]] = [:]
    for cell in spec.cells {
      for (seed, _) in cell.topologies {
        let run = RunDirectory(path: dir + "/cells/\(cell.id)-s\(seed)")
        if FileManager.default.fileExists(atPath: run.metricsFile) { runs[run.path] = try run.loadMetrics() }
      }
    }
    var out: [Figure] = []
    for metric in metrics {
      var series: [SVG.Series] = [], cells: [SweepSpec.Cell] = [], seeds: Set<Int> = []
      for cell in spec.cells {
        let curves = cell.topologies.compactMap { seed, _ in
          runs[dir + "/cells/\(cell.id)-s\(seed)"].map { points($0, metric.value) }
        }.filter { !$0.y.isEmpty }
        guard let s = mean(curves, band: band, label: cell.id + " " + GridColumns.label(cell)) else { continue }
        series.append(s); cells.append(cell); seeds.insert(curves.count)
      }
      guard !series.isEmpty else { continue }
      let bandCaption = "mean over seeds; \(band.caption(n: seeds.min() ?? 0))\(seeds.count > 1 ? " to \(seeds.max()!)" : "")"
      let top = metric.fitted ? RunFigures.upper(series.flatMap { $0.y + ($0.band?.map(\.1) ?? []) }) : 1
      let title = "\(spec.name): \(metric.what)"
      if series.count > Report.maxSeriesPerPanel, spec.gridKeys.count >= 2 {
        out.append(
          (
            metric.file, "\(metric.what.capitalizedFirst) per round, one panel per \(spec.gridKeys[0]) (\(bandCaption))",
            SVG.smallMultiples(
              title: title, xLabel: "round", yLabel: metric.what, panels: Report.smallMultiples(Array(zip(cells, series))), yMax: top)
          ))
      } else {
        out.append(
          (
            metric.file, "\(metric.what.capitalizedFirst) per round (\(bandCaption))",
            SVG.linePlot(title: title, xLabel: "round", yLabel: metric.what, series: series, yMax: top)
          ))
      }
    }
    return out
  }

  /// The evaluated rounds of one run where `value` is recorded.
  static func points(_ metrics: [RoundMetrics], _ value: (RoundMetrics) -> Double?) -> (x: [Double], y: [Double]) {
    let p = metrics.compactMap { m in value(m).map { (Double(m.round), $0) } }
    return (p.map(\.0), p.map(\.1))
  }

  /// The mean over seeds at each round all of them reached, with `band` around it; nil without a curve.
  static func mean(_ curves: [(x: [Double], y: [Double])], band: Band, label: String) -> SVG.Series? {
    guard let first = curves.first else { return nil }
    let n = curves.map(\.y.count).min()!
    var mean: [Double] = [], edges: [(Double, Double)] = []
    for k in 0..<n {
      let x = curves.map { $0.y[k] }
      let m = x.reduce(0, +) / Double(x.count), w = band.halfWidth(x) ?? 0
      mean.append(m); edges.append((m - w, m + w))
    }
    return SVG.Series(label: label, x: Array(first.x.prefix(n)), y: mean, band: edges)
  }
}

extension String {
  /// The string with its first letter upper-cased ("test loss" → "Test loss").
  var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
