import ArgumentParser
import Drift
import Foundation

/// `byzsim drift`: one drift detector, offline, on a reference and a current sample.
struct DriftCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drift",
    abstract: "Run one drift detector on two samples (CSV: rows = observations, columns = features).",
    discussion: """
      Examples:
        byzsim drift ks --reference train.csv --current live.csv --json
        byzsim drift mmd --reference train.csv --current live.csv --permutations 200 --seed 1
        byzsim drift psi --reference scores-jan.csv --current scores-feb.csv
        byzsim drift chi2 --reference labels-ref.csv --current labels-now.csv
      --json prints one object: "detector", "statistic", "p_value" (ks, mmd, chi2), "drift", and the
      detector's threshold ("alpha" or "threshold"). A first row that is not all numbers is a header.
      """,
    subcommands: [DriftKS.self, DriftMMD.self, DriftPSI.self, DriftChi2.self])
}

struct DriftSamples: ParsableArguments {
  @Option(help: "The reference sample (CSV).")
  var reference: String
  @Option(help: "The current sample (CSV, the same columns).")
  var current: String
  @Flag(help: "Print one JSON object.")
  var json = false

  func load() throws -> (NumericTable, NumericTable) {
    do {
      let r = try NumericTable.read(reference), c = try NumericTable.read(current)
      guard r.columns == c.columns else {
        throw UserError("\(reference) has \(r.columns) columns and \(current) has \(c.columns); the samples must have the same features")
      }
      return (r, c)
    } catch let e as NumericTable.Invalid {
      throw UserError(e.description)
    }
  }

  func emit(_ fields: [(String, String)], text: String) {
    if json {
      print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    } else {
      print(text)
    }
  }
}

func jsonNumber(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }

struct DriftKS: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ks",
    abstract: "Per-feature two-sample Kolmogorov–Smirnov with a Bonferroni correction (exact p up to 10,000 observations).",
    discussion: """
      Example:
        byzsim drift ks --reference train.csv --current live.csv --json
      """)
  @OptionGroup var samples: DriftSamples
  @Option(help: "Significance level of the whole test (each feature is tested at alpha / features).")
  var alpha = 0.05

  func run() throws {
    guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1): got \(alpha)") }
    let (r, c) = try samples.load()
    let k = PerFeature.kolmogorovSmirnov(reference: r.columnMajor, current: c.columnMajor)
    let adjusted = k.adjustedPValue!
    let drift = adjusted < alpha
    samples.emit(
      [
        ("detector", "\"ks\""), ("statistic", jsonNumber(k.statistic)), ("p_value", jsonNumber(adjusted)), ("drift", "\(drift)"),
        ("alpha", jsonNumber(alpha)), ("features", "\(r.columns)"), ("feature", "\(k.pValueFeature)"), ("exact", "\(k.exact!)"),
      ],
      text: String(
        format: "KS: largest D %.6g (feature %d); smallest p %.6g (feature %d), Bonferroni-adjusted %.6g over %d features → %@",
        k.statistic, k.statisticFeature, k.pValue!, k.pValueFeature, adjusted, r.columns, drift ? "drift" : "no drift"))
  }
}

struct DriftMMD: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mmd", abstract: "Unbiased MMD² with an RBF kernel (median-heuristic bandwidth) and a permutation test.",
    discussion: """
      Example:
        byzsim drift mmd --reference train.csv --current live.csv --permutations 200 --seed 1
      """)
  @OptionGroup var samples: DriftSamples
  @Option(help: "Significance level.")
  var alpha = 0.05
  @Option(help: "Permutations of the test.")
  var permutations = 100
  @Option(help: "Kernel bandwidth σ (default: the median heuristic).")
  var sigma: Double?
  @Option(help: "Seed of the permutations.")
  var seed: UInt64 = 0

  func run() throws {
    guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1): got \(alpha)") }
    guard permutations >= 1 && permutations <= 100_000 else {
      throw ValidationError("--permutations must be in 1...100000: got \(permutations)")
    }
    if let sigma, !(sigma > 0 && sigma.isFinite) { throw ValidationError("--sigma must be a positive number: got \(sigma)") }
    let (r, c) = try samples.load()
    guard r.rows.count >= 2 && c.rows.count >= 2 else { throw UserError("MMD² needs at least two observations in each sample") }
    guard r.rows.count + c.rows.count <= 20_000 else {
      throw UserError("MMD² here keeps the pooled kernel matrix: at most 20,000 observations in all (got \(r.rows.count + c.rows.count))")
    }
    let result = MMD.test(r.rows, c.rows, sigma: sigma, permutations: permutations, seed: seed)
    let drift = result.pValue < alpha
    samples.emit(
      [
        ("detector", "\"mmd\""), ("statistic", jsonNumber(result.statistic)), ("p_value", jsonNumber(result.pValue)), ("drift", "\(drift)"),
        ("alpha", jsonNumber(alpha)), ("sigma", jsonNumber(result.sigma)), ("permutations", "\(permutations)"),
      ],
      text: String(
        format: "MMD²: %.6g (σ %.6g), p %.6g over %d permutations → %@", result.statistic, result.sigma, result.pValue, permutations,
        drift ? "drift" : "no drift"))
  }
}

struct DriftPSI: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "psi",
    abstract: "Population stability index per feature (reference deciles); drift when the largest exceeds the threshold.",
    discussion: """
      Example:
        byzsim drift psi --reference scores-jan.csv --current scores-feb.csv
      """)
  @OptionGroup var samples: DriftSamples
  @Option(help: "PSI above which a feature has drifted (0.1: moderate, 0.25: significant).")
  var threshold = 0.25
  @Option(help: "Bins (at the reference's quantiles).")
  var bins = 10

  func run() throws {
    guard threshold > 0 && threshold.isFinite else { throw ValidationError("--threshold must be a positive number: got \(threshold)") }
    guard bins >= 2 && bins <= 1000 else { throw ValidationError("--bins must be in 2...1000: got \(bins)") }
    let (r, c) = try samples.load()
    let largest = PerFeature.psi(reference: r.columnMajor, current: c.columnMajor, bins: bins)
    let drift = largest.statistic > threshold
    samples.emit(
      [
        ("detector", "\"psi\""), ("statistic", jsonNumber(largest.statistic)), ("drift", "\(drift)"), ("threshold", jsonNumber(threshold)),
        ("features", "\(r.columns)"), ("feature", "\(largest.statisticFeature)"),
      ],
      text: String(
        format: "PSI: largest %.6g (feature %d of %d) → %@", largest.statistic, largest.statisticFeature, r.columns,
        drift ? "drift" : "no drift"))
  }
}

struct DriftChi2: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "chi2",
    abstract: "χ² test of homogeneity on category counts (e.g. predicted labels), per column with a Bonferroni correction.",
    discussion: """
      Example:
        byzsim drift chi2 --reference labels-ref.csv --current labels-now.csv --json
      """)
  @OptionGroup var samples: DriftSamples
  @Option(help: "Significance level of the whole test.")
  var alpha = 0.05

  func run() throws {
    guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1): got \(alpha)") }
    let (r, c) = try samples.load()
    for (table, columns) in [(r, r.columnMajor), (c, c.columnMajor)] {
      for (j, v) in columns.enumerated() {
        if let bad = v.first(where: { $0 != $0.rounded() || abs($0) > 1e9 }) {
          throw UserError("\(table.path), column \(j + 1): \(bad) is not a category (χ² takes integer labels)")
        }
      }
    }
    let (x, df) = PerFeature.chiSquare(reference: r.columnMajor, current: c.columnMajor)
    let adjusted = x.adjustedPValue!
    let drift = adjusted < alpha
    samples.emit(
      [
        ("detector", "\"chi2\""), ("statistic", jsonNumber(x.statistic)), ("p_value", jsonNumber(adjusted)), ("drift", "\(drift)"),
        ("alpha", jsonNumber(alpha)), ("degrees_of_freedom", "\(df)"), ("features", "\(r.columns)"), ("feature", "\(x.pValueFeature)"),
      ],
      text: String(
        format: "χ²: %.6g on %d degrees of freedom (column %d), p %.6g (Bonferroni over %d columns) → %@", x.statistic, df,
        x.pValueFeature, adjusted, r.columns, drift ? "drift" : "no drift"))
  }
}
