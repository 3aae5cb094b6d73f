import Foundation
import Runtime

/// The results of `experiments/privacy/run.sh` drawn by `byzsim report`: `membership.csv`
/// (each membership-inference attack's AUC per DP-SGD noise and per output policy),
/// `inversion.csv` (MI-Face per gradient source and policy) and `leakage.csv` (gradient
/// leakage per batch size and method, plain, with local steps, DP-SGD noise and secure aggregation)
/// and `secure-aggregation.csv` (runs with and without secure aggregation: accuracy, time, and
/// what the curious coordinator read).
struct PrivacyResults {
  static let membershipHeader = ["sigma", "epsilon", "policy", "target_test_accuracy", "attack", "auc", "tpr_at_fpr_0.01"]
  static let inversionHeader = ["setting", "evaluator_accuracy", "mean_distance_to_class_mean", "blank_distance_to_class_mean"]
  static let leakageHeader = ["setting", "batch_size", "psnr_median", "exact", "label_recall"]
  static let secureHeader = [
    "setting", "aggregator", "secure_aggregation", "attackers", "test_accuracy", "ms_per_round", "leakage_exact", "leakage_psnr_median",
  ]
  var membership: [[String: String]] = []
  var inversion: [[String: String]] = []
  var leakage: [[String: String]] = []
  var secure: [[String: String]] = []

  /// Nil unless `dir` holds one of the three tables with its header.
  static func load(_ dir: String) throws -> PrivacyResults? {
    let m = try ResultsCSV.rows(dir + "/membership.csv", header: membershipHeader)
    let i = try ResultsCSV.rows(dir + "/inversion.csv", header: inversionHeader)
    let l = try ResultsCSV.rows(dir + "/leakage.csv", header: leakageHeader)
    let s = try ResultsCSV.rows(dir + "/secure-aggregation.csv", header: secureHeader)
    guard m != nil || i != nil || l != nil || s != nil else { return nil }
    return PrivacyResults(membership: m ?? [], inversion: i ?? [], leakage: l ?? [], secure: s ?? [])
  }

  /// The reconstructions `byzsim attack gradient-leakage --svg` drew for the experiment
  /// (leakage-closed-form.svg, leakage-inverting.svg, leakage-dlg.svg), those present.
  static func reconstructions(_ dir: String) throws -> [(file: String, caption: String, svg: String)] {
    try ["closed-form", "inverting", "dlg"].compactMap { method -> (file: String, caption: String, svg: String)? in
      let file = "leakage-\(method).svg"
      guard FileManager.default.fileExists(atPath: dir + "/" + file) else { return nil }
      let svg: String
      do { svg = try String(contentsOfFile: dir + "/" + file, encoding: .utf8) } catch {
        throw RuntimeError("cannot read \(dir)/\(file): \((error as NSError).localizedDescription)")
      }
      return (file, "Gradient leakage (\(method)): each batch size's first batch, then what the coordinator read, with its PSNR", svg)
    }
  }

  func figures() -> [(file: String, caption: String, svg: String)] {
    var figures: [(file: String, caption: String, svg: String)] = []
    let attacks = Report.unique(membership.map { $0["attack"]! })
    // AUC against DP-SGD's noise (full outputs): a column per σ, labelled with its ε.
    let byNoise = membership.filter { $0["policy"] == "full" }
    if !byNoise.isEmpty {
      let sigmas = Report.unique(byNoise.map { $0["sigma"]! })
      let labels = sigmas.map { s -> String in
        guard s != "none", let e = byNoise.first(where: { $0["sigma"] == s }).flatMap({ Double($0["epsilon"] ?? "") }) else {
          return "no DP"
        }
        return String(format: "σ %@ (ε %.3g)", s, e)
      }
      figures.append(
        (
          "heatmap-membership-dp.svg",
          "Membership-inference ROC AUC per attack against DP-SGD's noise multiplier σ (ε at δ = 1e-5); 0.5 is chance",
          SVG.heatmap(
            title: "membership inference against DP-SGD", rowLabels: attacks, columnLabels: labels,
            values: attacks.map { a in
              sigmas.map { s in byNoise.first { $0["attack"] == a && $0["sigma"] == s }.flatMap { Double($0["auc"]!) } }
            },
            range: 0.5...1)
        ))
    }
    let byPolicy = membership.filter { $0["sigma"] == "none" }
    if Set(byPolicy.map { $0["policy"]! }).count > 1 {
      let policies = Report.unique(byPolicy.map { $0["policy"]! })
      figures.append(
        (
          "heatmap-membership-policy.svg",
          "Membership-inference ROC AUC per attack through each output policy of the target (no DP); 0.5 is chance",
          SVG.heatmap(
            title: "membership inference against output policies", rowLabels: attacks, columnLabels: policies,
            values: attacks.map { a in
              policies.map { p in byPolicy.first { $0["attack"] == a && $0["policy"] == p }.flatMap { Double($0["auc"]!) } }
            },
            range: 0.5...1)
        ))
    }
    if !inversion.isEmpty {
      figures.append(
        (
          "heatmap-inversion.svg",
          "MI-Face: the independent evaluator's accuracy on the reconstructions (chance 0.1), per gradient source and output policy",
          SVG.heatmap(
            title: "model inversion", rowLabels: inversion.map { $0["setting"]! }, columnLabels: ["evaluator accuracy"],
            values: inversion.map { [Double($0["evaluator_accuracy"]!)] })
        ))
    }
    if !leakage.isEmpty {
      let settings = Report.unique(leakage.map { $0["setting"]! }), sizes = Report.unique(leakage.map { $0["batch_size"]! })
      figures.append(
        (
          "heatmap-gradient-leakage.svg",
          "Gradient leakage: median PSNR (dB; 100 = exact) of the coordinator's reconstruction against the closest image of the batch, per setting and batch size",
          SVG.heatmap(
            title: "gradient leakage (PSNR, dB)", rowLabels: settings, columnLabels: sizes.map { "batch \($0)" },
            values: settings.map { s in
              sizes.map { b in leakage.first { $0["setting"] == s && $0["batch_size"] == b }.flatMap { Double($0["psnr_median"]!) } }
            },
            range: 0...100, format: "%.1f")
        ))
    }
    if !secure.isEmpty {
      let labels = secure.map { r in
        "\(r["setting"]!) (\(r["aggregator"]!)\(r["secure_aggregation"] == "true" ? ", secure" : ""))"
      }
      figures.append(
        (
          "bars-secure-aggregation.svg",
          "Runs with and without secure aggregation: test accuracy after 30 rounds (attacked: 2 of 10 workers send −10× their update; secure aggregation allows only the mean)",
          SVG.bars(
            title: "secure aggregation: accuracy", labels: labels, values: secure.map { Double($0["test_accuracy"]!) ?? 0 },
            maximum: 1, format: "%.3f", axisLabel: "test accuracy")
        ))
    }
    return figures
  }
}
