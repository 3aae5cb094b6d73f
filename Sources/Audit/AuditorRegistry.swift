/// The registry of auditors: name → constructor.
public enum AuditorRegistry {
  public static let names = [
    "norm_zscore", "cosine", "median_distance", "krum_score", "sign_agreement", "history_similarity", "mantissa_chi2",
  ]

  public static func make(_ name: String, f: Int = 0) -> (any Auditor)? {
    switch name {
    case "norm_zscore": return NormZScore()
    case "cosine": return CosineToAggregate()
    case "median_distance": return MedianDistance()
    case "krum_score": return KrumScore(f: f)
    case "sign_agreement": return SignAgreement()
    case "history_similarity": return HistorySimilarity()
    case "mantissa_chi2": return MantissaChiSquare()
    default: return nil
    }
  }
}
