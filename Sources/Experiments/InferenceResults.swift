import Foundation

/// The results of `experiments/inference/` drawn by `byzsim report`, one table per script:
/// `evasion.csv` (robust accuracy against ε per model and attack), `extraction.csv` (a stolen
/// copy's fidelity per output policy and query budget, through a real server), `watermark.csv`
/// (trigger matches per model: the owner's, fine-tuned and stolen copies, a contractor's) and
/// `leakage.csv` (what the leaking backdoor gives its receiver per policy, budget and auditor).
struct InferenceResults {
  static let evasionHeader = ["model", "method", "eps", "clean_accuracy", "robust_accuracy"]
  static let extractionHeader = ["target", "policy", "method", "strategy", "budget", "answered", "stopped", "fidelity", "accuracy"]
  static let watermarkHeader = ["model", "matches", "triggers", "p_value", "verified", "test_accuracy"]
  static let leakageHeader = [
    "policy", "budget", "audit", "answered", "stopped", "flagged_at", "bits", "bits_recovered", "leaked_bits", "label_accuracy",
  ]
  var evasion: [[String: String]] = []
  var extraction: [[String: String]] = []
  var watermark: [[String: String]] = []
  var leakage: [[String: String]] = []

  /// Nil unless `dir` holds at least one of the four tables with its header.
  static func load(_ dir: String) throws -> InferenceResults? {
    let e = try ResultsCSV.rows(dir + "/evasion.csv", header: evasionHeader)
    let x = try ResultsCSV.rows(dir + "/extraction.csv", header: extractionHeader)
    let w = try ResultsCSV.rows(dir + "/watermark.csv", header: watermarkHeader)
    let l = try ResultsCSV.rows(dir + "/leakage.csv", header: leakageHeader)
    guard e != nil || x != nil || w != nil || l != nil else { return nil }
    return InferenceResults(evasion: e ?? [], extraction: x ?? [], watermark: w ?? [], leakage: l ?? [])
  }

  func figures() -> [(file: String, caption: String, svg: String)] {
    var figures: [(file: String, caption: String, svg: String)] = []
    // Robust accuracy against ε: one plot per attack, a line per model (ε = 0: clean accuracy).
    for method in Report.unique(evasion.map { $0["method"]! }) {
      let rows = evasion.filter { $0["method"] == method }
      let series = Report.unique(rows.map { $0["model"]! }).map { model in
        let points = rows.filter { $0["model"] == model }.compactMap { r in
          Double(r["eps"]!).flatMap { e in Double(r["robust_accuracy"]!).map { (e, $0) } }
        }.sorted { $0.0 < $1.0 }
        return SVG.Series(label: model, x: points.map(\.0), y: points.map(\.1))
      }
      figures.append(
        (
          "inference-evasion-\(method).svg",
          "Accuracy on \(method.uppercased()) adversarial test images against the L∞ budget ε (pixels in [0, 1]), per model; ε = 0 is the clean accuracy",
          SVG.linePlot(
            title: "robust accuracy under \(method.uppercased())", xLabel: "ε (L∞)", yLabel: "accuracy on adversarial images",
            series: series,
            xAxis: .values(format: "%g", log: false))
        ))
    }
    // Extraction: fidelity against the queries answered, a line per target, policy and strategy.
    let learning = extraction.filter { $0["method"] == "learning" }
    if !learning.isEmpty {
      let keys = Report.unique(learning.map { "\($0["target"]!) · \($0["policy"]!) · \($0["strategy"]!)" })
      let series = keys.map { key in
        let points = learning.filter { "\($0["target"]!) · \($0["policy"]!) · \($0["strategy"]!)" == key }.compactMap { r in
          Double(r["answered"]!).flatMap { a in Double(r["fidelity"]!).map { (a, $0) } }
        }.sorted { $0.0 < $1.0 }
        return SVG.Series(label: key, x: points.map(\.0), y: points.map(\.1))
      }.filter { !$0.x.isEmpty }
      figures.append(
        (
          "inference-extraction-fidelity.svg",
          "Learning-based extraction through byzsim serve: agreement of the stolen copy with the target on the test set against the queries the server answered (its budget ends them), per target, output policy and query strategy",
          SVG.linePlot(
            title: "extraction fidelity against answered queries", xLabel: "queries answered (log scale)", yLabel: "fidelity",
            series: series,
            xAxis: .values(format: "%.0f", log: true))
        ))
    }
    let solving = extraction.filter { $0["method"] == "equations" }
    if !solving.isEmpty {
      let policies = Report.unique(solving.map { $0["policy"]! })
      figures.append(
        (
          "inference-extraction-equations.svg",
          "Equation solving (Tramèr et al. 2016) through each output policy: fidelity of the recovered model and the queries answered (– : the attack failed or was stopped)",
          SVG.heatmap(
            title: "equation solving per output policy", rowLabels: policies, columnLabels: ["fidelity", "answered / needed"],
            values: policies.map { p in
              let r = solving.first { $0["policy"] == p }!
              let answered = Double(r["answered"]!), budget = Double(r["budget"]!)
              return [Double(r["fidelity"]!), answered.flatMap { a in budget.map { a / $0 } }]
            })
        ))
    }
    if !watermark.isEmpty {
      let triggers = watermark.compactMap { Double($0["triggers"]!) }.max() ?? 100
      figures.append(
        (
          "inference-watermark.svg",
          "Trigger labels each model reproduces (of \(Int(triggers))); chance is one in ten. p: the binomial test against chance (verified: p < 0.01)",
          SVG.bars(
            title: "watermark survival",
            labels: watermark.map { r in "\(r["model"]!) · p=\(Self.short(r["p_value"]!))" },
            values: watermark.map { Double($0["matches"]!) ?? 0 }, maximum: triggers, axisLabel: "trigger matches",
            marks: [(triggers / 10, "chance")])
        ))
    }
    if !leakage.isEmpty {
      let rows = Report.unique(leakage.map { Self.leakRow($0) }), budgets = Report.unique(leakage.map { $0["budget"]! })
      let top = leakage.compactMap { Double($0["bits"]!) }.max() ?? 1
      let values: [[Double?]] = rows.map { r in
        budgets.map { b in leakage.first { Self.leakRow($0) == r && $0["budget"] == b }.flatMap { Double($0["leaked_bits"]!) } }
      }
      figures.append(
        (
          "inference-leakage.svg",
          "Bits the leaking backdoor's receiver gets through byzsim serve (Shannon information of the answered labels, of \(Int(top)) planted), per output policy and query auditor (rows) and prediction budget (columns)",
          SVG.heatmap(
            title: "leaked bits", rowLabels: rows, columnLabels: budgets.map { $0 == "none" ? "no budget" : "budget \($0)" },
            values: values,
            range: 0...max(top, 1), format: "%.0f")
        ))
    }
    return figures
  }

  static func leakRow(_ r: [String: String]) -> String {
    r["audit"] == "none" ? r["policy"]! : "\(r["policy"]!) · auditor \(r["audit"]!)"
  }

  /// A p-value in two significant digits.
  static func short(_ p: String) -> String { Double(p).map { String(format: "%.2g", $0) } ?? p }
}
