import Plugins

/// The registry of auditors, in the one registry shape. The Krum-score auditor takes the
/// aggregator's declared f from the caller (`f` in the context).
public enum AuditorRegistry {
  public static let auditors = PluginRegistry<any Auditor>(
    kind: "auditor",
    [
      Plugin("norm_zscore", "|‖x‖ − median| / MAD of the norms") { _ in NormZScore() },
      Plugin("cosine", "1 − cosine to the round's robust aggregate") { _ in CosineToAggregate() },
      Plugin("median_distance", "distance to the coordinate-wise median") { _ in MedianDistance() },
      Plugin("krum_score", "Krum's score with the aggregator's f") { KrumScore(f: Int($0.context["f"] ?? 0)) },
      Plugin("sign_agreement", "share of coordinates whose sign disagrees with the median's") { _ in SignAgreement() },
      Plugin("history_similarity", "highest cosine of the update history to another worker's (Sybils)") { _ in HistorySimilarity() },
      Plugin("mantissa_chi2", "χ² of the low mantissa bits against the workers' typical histogram") { _ in MantissaChiSquare() },
    ])

  public static var names: [String] { auditors.names }

  /// The auditor `name` (nil when unknown); `f` is the aggregator's declared f.
  public static func make(_ name: String, f: Int = 0) -> (any Auditor)? {
    do { return try auditors.make(name, [:], context: ["f": Double(f)]) } catch { return nil }
  }
}
