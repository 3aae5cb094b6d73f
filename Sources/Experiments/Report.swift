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

  /// The key of a sweep's cells as an HTML and a Markdown table: id, the cell in words, and each
  /// grid key's value as written in the sweep file.
  static func cellKey(_ spec: SweepSpec) -> (html: String, md: String) {
    let head = ["cell", "in words"] + spec.gridKeys
    let rows = spec.cells.map { c in [c.id, GridColumns.label(c)] + c.values.map(\.1) }
    var html = "<h2>Cells</h2>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n<tr>"
    html += head.map { "<th>\(SVG.escape($0))</th>" }.joined() + "</tr>\n"
    for r in rows { html += "<tr>" + r.map { "<td>\(SVG.escape($0))</td>" }.joined() + "</tr>\n" }
    html += "</table>\n"
    func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
    var md = "## Cells\n\n| " + head.map(cell).joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: head.count) + "\n"
    for r in rows { md += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
    return (html, md + "\n")
  }

  /// The distinct values in first-seen order.
  static func unique(_ values: [String]) -> [String] {
    var seen = Set<String>()
    return values.filter { seen.insert($0).inserted }
  }

  /// Writes the figures and reports into `dir`; returns the files written. `band`: what the
  /// bands around means over seeds show.
  /// `baseline`: a sweep cell (id) whose final accuracy the cells are compared with on a diverging
  /// scale (`heatmap-accuracy-vs-baseline.svg`); an error for anything but a sweep.
  public static func generate(_ dir: String, band: Band = .ci95, baseline: String? = nil) throws -> [String] {
    let fm = FileManager.default
    var figures: [(file: String, caption: String, svg: String)] = []
    // Figures another command already wrote into `dir` (its files; shown, never rewritten here).
    var shown: [(file: String, caption: String, svg: String)] = []
    // A sweep's key: every cell id with its grid values in full (legends and heatmaps clip long labels).
    var key: (html: String, md: String)?
    if fm.fileExists(atPath: dir + "/summary.csv"), fm.fileExists(atPath: dir + "/sweep.toml") {
      let spec = try SweepRunner.load(directory: dir)
      key = cellKey(spec)
      let runner = SweepRunner(spec: spec, directory: dir, binary: "", jobs: 1, processes: false)
      let summaries = try runner.writeSummaries().cells
      // Accuracy, loss and attack success vs round per cell: means over seeds with the chosen band.
      figures += try SweepCurves.figures(spec, directory: dir, band: band)
      // Heatmaps: first grid key as rows, the other keys' combinations as columns.
      figures += try SweepHeatmaps.figures(spec, summaries: summaries, baseline: baseline)
      // A reproduction: one figure per claim, with the cells it compares.
      if let reproduction = try Reproduction.load(directory: dir) {
        figures += reproduction.figures(reproduction.verdicts(Reproduction.results(summaries)))
      }
    } else if let baseline {
      throw RuntimeError(
        "--baseline \(baseline): \(dir) is not a sweep directory (summary.csv, sweep.toml); a baseline is one of a sweep's cells")
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
    if let key {
      html += key.html
      md += key.md
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
