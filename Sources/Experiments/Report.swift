import Foundation
import Runtime

/// `byzsim report`: SVG figures and a self-contained report.html / report.md for a run
/// directory or a sweep directory, from the plain files the runs wrote.
public enum Report {
  /// More series than this in one accuracy plot become small multiples.
  static let maxSeriesPerPanel = 6

  /// One panel per value of the first grid key (in first-seen order), each with its cells'
  /// series labelled by the other keys' values alone.
  static func smallMultiples(_ cells: [(SweepSpec.Cell, SVG.Series)]) -> [(title: String, series: [SVG.Series])] {
    let key = { (c: SweepSpec.Cell) in c.grid.first.map { GridColumns.label($0.1) } ?? "all" }
    return unique(cells.map { key($0.0) }).map { value in
      let members = cells.filter { key($0.0) == value }
      let title = "\(members.first?.0.grid.first?.0 ?? "") = \(value)"
      return (
        title,
        members.map { cell, s in
          let rest = cell.grid.dropFirst().map { GridColumns.label($0.1) }.joined(separator: " · ")
          return SVG.Series(label: "\(cell.id) \(rest)", x: s.x, y: s.y, band: s.band)
        }
      )
    }
  }

  /// The distinct values in first-seen order.
  static func unique(_ values: [String]) -> [String] {
    var seen = Set<String>()
    return values.filter { seen.insert($0).inserted }
  }

  /// Writes the figures and reports into `dir`; returns the files written. `band`: what the
  /// bands around means over seeds show.
  public static func generate(_ dir: String, band: Band = .ci95) throws -> [String] {
    let fm = FileManager.default
    var figures: [(file: String, caption: String, svg: String)] = []
    // Figures another command already wrote into `dir` (its files; shown, never rewritten here).
    var shown: [(file: String, caption: String, svg: String)] = []
    if fm.fileExists(atPath: dir + "/summary.csv"), fm.fileExists(atPath: dir + "/sweep.toml") {
      let spec = try SweepRunner.load(directory: dir)
      let runner = SweepRunner(spec: spec, directory: dir, binary: "", jobs: 1, processes: false)
      let summaries = try runner.writeSummaries().cells
      // Accuracy, loss and attack success vs round per cell: means over seeds with the chosen band.
      figures += try SweepCurves.figures(spec, directory: dir, band: band)
      // Heatmaps: first grid key as rows, the other keys' combinations as columns.
      let rowKey = { (c: SweepSpec.Cell) in c.grid.first.map { GridColumns.label($0.1) } ?? "all" }
      let colKey = { (c: SweepSpec.Cell) in
        c.grid.count > 1 ? c.grid.dropFirst().map { GridColumns.label($0.1) }.joined(separator: " · ") : "value"
      }
      let rowLabels = unique(spec.cells.map(rowKey))
      let colLabels = unique(spec.cells.map(colKey))
      let cells = Array(zip(spec.cells, summaries))
      for (metric, ci, title, file) in [
        (\SweepRunner.CellSummary.accuracyMean, \SweepRunner.CellSummary.accuracyCi95, "final test accuracy", "heatmap-accuracy.svg"),
        (
          \SweepRunner.CellSummary.attackSuccessMean, \SweepRunner.CellSummary.attackSuccessCi95, "attack success rate",
          "heatmap-attack-success.svg"
        ),
        (\SweepRunner.CellSummary.detectionF1Mean, \SweepRunner.CellSummary.detectionF1Ci95, "detection F1", "heatmap-detection-f1.svg"),
      ] {
        func at(_ r: String, _ c: String) -> SweepRunner.CellSummary? { cells.first { rowKey($0.0) == r && colKey($0.0) == c }?.1 }
        let values: [[Double?]] = rowLabels.map { r in colLabels.map { c in at(r, c).flatMap { $0[keyPath: metric] } } }
        let errors: [[Double?]] = rowLabels.map { r in colLabels.map { c in at(r, c).flatMap { $0[keyPath: ci] } } }
        guard values.joined().contains(where: { $0 != nil }) else { continue }
        // The colour scale spans the data (0.63 and 0.75 are different colours), stated in the caption.
        let range = SVG.fittedRange(values.joined().compactMap { $0 })
        let columnTitle = spec.gridKeys.count > 1 ? spec.gridKeys.dropFirst().joined(separator: " · ") : nil
        figures.append(
          (
            file,
            "\(title) per cell, mean ± 95% CI over seeds (rows: \(spec.gridKeys.first ?? "-"), columns: \(columnTitle ?? "-"); colour scale \(String(format: "%.3f–%.3f", range.lowerBound, range.upperBound)))",
            SVG.heatmap(
              title: "\(spec.name): \(title)", rowLabels: rowLabels, columnLabels: colLabels, values: values, range: range,
              rowTitle: spec.gridKeys.first, columnTitle: columnTitle, errors: errors)
          ))
      }
      // A reproduction: one figure per claim, with the cells it compares.
      if let reproduction = try Reproduction.load(directory: dir) {
        figures += reproduction.figures(reproduction.verdicts(Reproduction.results(summaries)))
      }
    } else if let monitoring = try MonitoringResults.load(dir) {
      figures += monitoring.figures()
    } else if let privacy = try PrivacyResults.load(dir) {
      figures += privacy.figures()
      shown += try PrivacyResults.reconstructions(dir)
    } else if let inference = try InferenceResults.load(dir) {
      figures += inference.figures()
    } else if let ingestion = try IngestionResults.load(dir) {
      figures += ingestion.figures()
    } else if let run = try RunFigures.figures(dir) {
      figures += run
    } else {
      throw RuntimeError(
        "\(dir): neither a run directory (metrics.jsonl), a sweep directory (summary.csv, sweep.toml) monitoring results (results.csv from experiments/monitoring/run.sh) inference results (evasion.csv, extraction.csv, watermark.csv or leakage.csv from experiments/inference/), ingestion results (ingestion.csv from experiments/ingestion/) nor privacy results (membership.csv, inversion.csv or leakage.csv from experiments/privacy/)"
      )
    }
    var written: [String] = []
    for fig in figures {
      try fig.svg.write(toFile: dir + "/" + fig.file, atomically: true, encoding: .utf8)
      written.append(fig.file)
    }
    let title = "ByzSim report: \((dir as NSString).lastPathComponent)"
    var html =
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>\(SVG.escape(title))</title></head><body style=\"font-family:sans-serif\">\n<h1>\(SVG.escape(title))</h1>\n"
    var md = "# \(title)\n\n"
    for fig in figures + shown {
      html += "<figure>\n\(fig.svg)<figcaption>\(SVG.escape(fig.caption))</figcaption></figure>\n"
      md += "![\(fig.caption)](\(fig.file))\n\n*\(fig.caption)*\n\n"
    }
    if fm.fileExists(atPath: dir + "/summary.csv") {
      let csv = try String(contentsOfFile: dir + "/summary.csv", encoding: .utf8)
      html += "<h2>summary.csv</h2>\n<pre>\(SVG.escape(csv))</pre>\n"
      md += "## summary.csv\n\n```\n\(csv)```\n"
    }
    html += "</body></html>\n"
    try html.write(toFile: dir + "/report.html", atomically: true, encoding: .utf8)
    try md.write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
    return written + ["report.html", "report.md"]
  }
}
