import Tensor

/// The check every update passes before any rule sees it: finite values and a bounded norm.
/// A NaN, ±Inf or a norm above `maxNorm` (e.g. 1e30, which overflows Float when squared) would
/// poison means and Gram matrices alike, so such rows are dropped and reported with a reason.
public enum UpdateScreen {
  /// The largest norm an update may have, and the largest `max_update_norm` / `--max-norm`:
  /// up to it every rule stays exact in Float32 (a squared norm or a Gram entry of 1e30 is far
  /// from Float's 3.4e38) — tested with Byzantine rows at this norm.
  public static let maxNormBound = 1e15

  public enum Reason: String, Sendable { case nonFinite = "non_finite", normTooLarge = "norm_too_large" }

  /// Why `v` must not be aggregated, or nil (one SIMD pass: `Kernels.sumOfSquares`).
  public static func problem(_ v: UnsafeBufferPointer<Float>, maxNorm: Double) -> Reason? {
    guard let base = v.baseAddress else { return nil }
    guard let s = Kernels.sumOfSquares(base, count: v.count) else { return .nonFinite }
    return s.squareRoot() > maxNorm ? .normTooLarge : nil
  }

  public static func problem(_ v: [Float], maxNorm: Double) -> Reason? {
    v.withUnsafeBufferPointer { problem($0, maxNorm: maxNorm) }
  }

  /// The rows of `x` that pass, and the rejected row indices with their reasons.
  public static func screen(_ x: UpdateMatrix, maxNorm: Double) -> (kept: UpdateMatrix?, rejected: [(Int, Reason)]) {
    var keep: [Int] = [], rejected: [(Int, Reason)] = []
    x.data.withUnsafeBufferPointer { p in
      for i in 0..<x.rows {
        if let r = problem(UnsafeBufferPointer(rebasing: p[(i * x.cols)..<((i + 1) * x.cols)]), maxNorm: maxNorm) {
          rejected.append((i, r))
        } else {
          keep.append(i)
        }
      }
    }
    return (keep.isEmpty ? nil : x.selecting(keep), rejected)
  }
}
