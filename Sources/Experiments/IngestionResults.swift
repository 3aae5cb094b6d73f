import Foundation

/// The results of `experiments/ingestion/run.sh` drawn by `byzsim report`: `ingestion.csv`, one
/// row per data attack × poison rate × set (the clean and the poisoned training sets, and the
/// poisoned set sanitised by each detector, with the detector's precision, recall and F1).
struct IngestionResults {
  static let header = ["attack", "rate", "set", "flagged", "precision", "recall", "f1", "test_accuracy", "attack_success"]
  let rows: [[String: String]]

  /// Nil unless `dir` holds an ingestion.csv with its header.
  static func load(_ dir: String) throws -> IngestionResults? {
    try ResultsCSV.rows(dir + "/ingestion.csv", header: header).map(IngestionResults.init)
  }

  func figures() -> [(file: String, caption: String, svg: String)] {
    let columns = Report.unique(rows.map { "\($0["attack"]!) \($0["rate"]!)" })
    func value(_ set: String, _ column: String, _ key: String) -> Double? {
      rows.first { $0["set"] == set && "\($0["attack"]!) \($0["rate"]!)" == column }.flatMap { Double($0[key] ?? "") }
    }
    let detectors = Report.unique(rows.map { $0["set"]! }).filter { $0 != "clean" && $0 != "poisoned" }
    var figures: [(file: String, caption: String, svg: String)] = [
      (
        "heatmap-ingestion-f1.svg",
        "F1 of each detector's flags against the samples the attack changed, per data attack and poison rate (columns)",
        SVG.heatmap(
          title: "ingestion detectors: F1", rowLabels: detectors, columnLabels: columns,
          values: detectors.map { d in columns.map { value(d, $0, "f1") } })
      )
    ]
    let sets = ["clean", "poisoned"] + detectors
    let label = { (s: String) in s == "clean" || s == "poisoned" ? "trained on \(s)" : "sanitised by \(s)" }
    figures.append(
      (
        "heatmap-ingestion-accuracy.svg",
        "Test accuracy after training on the clean set, the poisoned set, and the poisoned set without each detector's flags",
        SVG.heatmap(
          title: "test accuracy after sanitising", rowLabels: sets.map(label), columnLabels: columns,
          values: sets.map { s in columns.map { value(s, $0, "test_accuracy") } })
      ))
    let targeted = columns.filter { c in rows.contains { "\($0["attack"]!) \($0["rate"]!)" == c && !($0["attack_success"] ?? "").isEmpty } }
    if !targeted.isEmpty {
      figures.append(
        (
          "heatmap-ingestion-attack-success.svg",
          "Attack success (backdoor and DBA: triggered images read as the target; targeted flip: the source class read as the target) after each training",
          SVG.heatmap(
            title: "attack success after sanitising", rowLabels: sets.map(label), columnLabels: targeted,
            values: sets.map { s in targeted.map { value(s, $0, "attack_success") } })
        ))
    }
    return figures
  }
}
