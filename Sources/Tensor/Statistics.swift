/// Order statistics shared by the auditors, the robust rules' norm filters, ingestion checks and
/// reports (one definition, so they agree to the bit).
public enum Statistics {
  /// The median of `v` (not empty): the middle value, or for an even count the mean of the two
  /// middle values (NumPy's convention).
  public static func median(_ v: [Double]) -> Double {
    precondition(!v.isEmpty, "the median of no values")
    let s = v.sorted(), n = s.count
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
  }
}
