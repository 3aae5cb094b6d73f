import Foundation
import Runtime

/// The results of `experiments/monitoring/` drawn by `byzsim report`: `results.csv` (run.sh and
/// speed.sh: one row per detector × window × traffic scenario, from `byzsim traffic --json`) —
/// when each detector first alerted, and how much damage each drifting scenario did before
/// that — and `online.csv` (online.sh: one row per defence × attacker share) — the share of
/// honest source-class images the retrained model read as the target.
struct MonitoringResults {
  static let onlineHeader = [
    "defence", "share", "poison_labels", "retrains", "source_requests", "flipped", "accuracy_after", "flagged_sources",
    "excluded_labels",
  ]
  static let header = [
    "detector", "window", "scenario", "first_alert", "detection_delay", "false_alarm", "source_requests", "flipped",
    "flipped_before_first_alert", "strength_at_first_alert", "accuracy_after",
  ]
  let rows: [[String: String]]
  var online: [[String: String]] = []

  /// Nil unless `dir` holds a results.csv or an online.csv with its header.
  static func load(_ dir: String) throws -> MonitoringResults? {
    let rows = try ResultsCSV.rows(dir + "/results.csv", header: header)
    let online = try ResultsCSV.rows(dir + "/online.csv", header: onlineHeader)
    guard rows != nil || online != nil else { return nil }
    return MonitoringResults(rows: rows ?? [], online: online ?? [])
  }

  func figures() -> [(file: String, caption: String, svg: String)] {
    var figures: [(file: String, caption: String, svg: String)] = []
    if !online.isEmpty {
      let defences = Report.unique(online.map { $0["defence"]! }), shares = Report.unique(online.map { $0["share"]! })
      let values: [[Double?]] = defences.map { d in
        shares.map { s in
          online.first { $0["defence"] == d && $0["share"] == s }.flatMap { r in
            guard let n = Double(r["source_requests"] ?? ""), n > 0, let f = Double(r["flipped"] ?? "") else { return nil }
            return f / n
          }
        }
      }
      figures.append(
        (
          "heatmap-online-poisoning.svg",
          "Share of honest source-class images the online-retrained model read as the target, per defence (rows) and attacker share (columns)",
          SVG.heatmap(
            title: "online-learning poisoning", rowLabels: defences, columnLabels: shares.map { "attacker share \($0)" }, values: values)
        ))
    }
    guard !rows.isEmpty else { return figures }
    let keys = Report.unique(rows.map { "\($0["detector"]!) · window \($0["window"]!)" })
    func row(_ key: String, _ scenario: String) -> [String: String]? {
      rows.first { "\($0["detector"]!) · window \($0["window"]!)" == key && $0["scenario"] == scenario }
    }
    let drifting = Report.unique(rows.map { $0["scenario"]! }).filter { $0 != "none" }
    // Damage: the share of the source class's images the model read as the target before the
    // detector's first alert (all of them if it never alerted).
    let damage: [[Double?]] = keys.map { k in
      drifting.map { sc in
        row(k, sc).flatMap { r in
          guard let n = Double(r["source_requests"] ?? ""), n > 0, let f = Double(r["flipped_before_first_alert"] ?? "") else { return nil }
          return f / n
        }
      }
    }
    // Delay: predictions from the drift's start to the first alert (blank: never alerted); the
    // no-drift column gives the first false alarm's prediction instead.
    let columns = (rows.contains { $0["scenario"] == "none" } ? ["none"] : []) + drifting
    let delay: [[Double?]] = keys.map { k in
      columns.map { sc in
        row(k, sc).flatMap { r in sc == "none" ? Double(r["first_alert"] ?? "") : Double(r["detection_delay"] ?? "") }
      }
    }
    let top = delay.joined().compactMap { $0 }.max() ?? 1
    // Scenarios without a source class (covariate shifts) have no damage to draw.
    if damage.joined().contains(where: { $0 != nil }) {
      figures.append(
        (
          "heatmap-damage.svg",
          "Share of the source class's images read as the target before each detector's first alert (all of them when it never alerted)",
          SVG.heatmap(title: "damage before the first alert", rowLabels: keys, columnLabels: drifting, values: damage)
        ))
    }
    figures.append(
      (
        "heatmap-delay.svg",
        "Predictions from the drift's start to each detector's first alert (–: never); the 'false alarm at' column is the prediction number of the first alert without drift",
        SVG.heatmap(
          title: "detection delay (predictions)", rowLabels: keys, columnLabels: columns.map { $0 == "none" ? "false alarm at" : $0 },
          values: delay, range: 0...max(top, 1), format: "%.0f")
      ))
    return figures
  }
}
