import Foundation
import Runtime

/// A sweep's heatmaps (`byzsim report SWEEP_DIR`): the first grid key as rows, the other keys'
/// combinations as columns; final accuracy, attack success rate and detection F1 per cell (mean
/// ± 95% CI over seeds) on a colour scale fitted to the data; and, with `--baseline CELL`, each
/// cell's final accuracy minus that cell's on a diverging scale centred on 0 (red: lower, blue:
/// higher), e.g. against the no-attack cell.
enum SweepHeatmaps {
  typealias Figure = (file: String, caption: String, svg: String)

  static func figures(_ spec: SweepSpec, summaries: [SweepRunner.CellSummary], baseline: String?) throws -> [Figure] {
    let rowKey = { (c: SweepSpec.Cell) in c.grid.first.map { GridColumns.label($0.1) } ?? "all" }
    let colKey = { (c: SweepSpec.Cell) in
      c.grid.count > 1 ? c.grid.dropFirst().map { GridColumns.label($0.1) }.joined(separator: " · ") : "value"
    }
    let rowLabels = Report.unique(spec.cells.map(rowKey)), colLabels = Report.unique(spec.cells.map(colKey))
    let cells = Array(zip(spec.cells, summaries))
    let columnTitle = spec.gridKeys.count > 1 ? spec.gridKeys.dropFirst().joined(separator: " · ") : nil
    let axes = "rows: \(spec.gridKeys.first ?? "-"), columns: \(columnTitle ?? "-")"
    func grid(_ value: (SweepRunner.CellSummary) -> Double?) -> [[Double?]] {
      rowLabels.map { r in colLabels.map { c in cells.first { rowKey($0.0) == r && colKey($0.0) == c }.flatMap { value($0.1) } } }
    }
    var out: [Figure] = []
    for (metric, ci, title, file) in [
      (\SweepRunner.CellSummary.accuracyMean, \SweepRunner.CellSummary.accuracyCi95, "final test accuracy", "heatmap-accuracy.svg"),
      (
        \SweepRunner.CellSummary.attackSuccessMean, \SweepRunner.CellSummary.attackSuccessCi95, "attack success rate",
        "heatmap-attack-success.svg"
      ),
      (\SweepRunner.CellSummary.detectionF1Mean, \SweepRunner.CellSummary.detectionF1Ci95, "detection F1", "heatmap-detection-f1.svg"),
    ] {
      let values = grid { $0[keyPath: metric] }, errors = grid { $0[keyPath: ci] }
      guard values.joined().contains(where: { $0 != nil }) else { continue }
      // The colour scale spans the data (0.63 and 0.75 are different colours), stated in the caption.
      let range = SVG.fittedRange(values.joined().compactMap { $0 })
      out.append(
        (
          file,
          "\(title) per cell, mean ± 95% CI over seeds (\(axes); colour scale \(String(format: "%.3f–%.3f", range.lowerBound, range.upperBound)))",
          SVG.heatmap(
            title: "\(spec.name): \(title)", rowLabels: rowLabels, columnLabels: colLabels, values: values, range: range,
            rowTitle: spec.gridKeys.first, columnTitle: columnTitle, errors: errors)
        ))
    }
    if let baseline { out.append(try versus(baseline, spec, cells: cells, grid: grid, rowLabels: rowLabels, colLabels: colLabels)) }
    return out
  }

  /// Final accuracy minus the baseline cell's, on a scale symmetric around 0.
  static func versus(
    _ id: String, _ spec: SweepSpec, cells: [(SweepSpec.Cell, SweepRunner.CellSummary)],
    grid: ((SweepRunner.CellSummary) -> Double?) -> [[Double?]], rowLabels: [String], colLabels: [String]
  ) throws -> Figure {
    guard let (cell, summary) = cells.first(where: { $0.0.id == id }) else {
      let ids = spec.cells.map(\.id)
      throw RuntimeError("--baseline \(id): no such cell in sweep \(spec.name) (cells \(ids.first ?? "-") … \(ids.last ?? "-"))")
    }
    guard let base = summary.accuracyMean else { throw RuntimeError("--baseline \(id): the cell has no finished run to compare with") }
    let values = grid { $0.accuracyMean.map { $0 - base } }
    let spread = max(values.joined().compactMap { $0.map(abs) }.max() ?? 0, 0.001)
    let columnTitle = spec.gridKeys.count > 1 ? spec.gridKeys.dropFirst().joined(separator: " · ") : nil
    return (
      "heatmap-accuracy-vs-baseline.svg",
      "final test accuracy minus \(id) (\(GridColumns.label(cell)), \(String(format: "%.3f", base))) per cell, mean over seeds; diverging scale ±\(String(format: "%.3f", spread)): red lower, blue higher",
      SVG.heatmap(
        title: "\(spec.name): accuracy − \(id)", rowLabels: rowLabels, columnLabels: colLabels, values: values, range: -spread...spread,
        format: "%+.3f", rowTitle: spec.gridKeys.first, columnTitle: columnTitle, diverging: true)
    )
  }
}
