import Aggregation
import Tensor

/// An auditor scores every update of a round from what the coordinator legitimately sees (the
/// round's updates, the round's aggregate, its own history) — never the ground truth.
/// Higher scores are more suspicious. Raw scores are made comparable across auditors by
/// `RobustZ` before they accumulate (`CUSUM`) into a verdict per worker.
public protocol Auditor: Sendable {
  var name: String { get }
  /// One raw score per row of `x` (rows carry worker ids in `x.ids`).
  mutating func scores(_ x: UpdateMatrix, aggregate: [Float]?) -> [Double]
  /// History to carry across a checkpoint (empty for auditors without one).
  var state: [Float] { get }
  mutating func restore(state: [Float]) throws
}

extension Auditor {
  public var state: [Float] { [] }
  public mutating func restore(state: [Float]) throws {
    guard state.isEmpty else { throw AuditStateError("\(name) keeps no state, but the checkpoint holds \(state.count) values") }
  }
}

/// Per-round robust standardisation: z = (s − median) / (1.4826·MAD), so honest workers score
/// about N(0, 1) whatever the auditor's scale. A zero MAD (all equal) uses a tiny floor.
public enum RobustZ {
  public static func median(_ v: [Double]) -> Double { Statistics.median(v) }

  public static func normalize(_ s: [Double]) -> [Double] {
    guard s.count > 1 else { return s.map { _ in 0 } }
    let m = median(s)
    let mad = 1.4826 * median(s.map { abs($0 - m) })
    let scale = max(mad, 1e-9 * max(abs(m), 1e-12))
    return s.map { ($0 - m) / scale }
  }
}

/// Coordinate-wise median of the rows: the Aggregation module's rule (SIMD sorting network).
func coordinateMedian(_ x: UpdateMatrix) -> [Float] {
  let rule = CoordinateMedian()
  do {
    return try rule.aggregate(x, context: RoundContext()).vector
  } catch {
    // The median has no precondition beyond rows ≥ 1, which every audited round has.
    preconditionFailure("the coordinate-wise median of \(x.rows) rows failed: \(error)")
  }
}

func norm(_ v: ArraySlice<Float>) -> Double { v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
func row(_ x: UpdateMatrix, _ i: Int) -> ArraySlice<Float> { x.data[(i * x.cols)..<((i + 1) * x.cols)] }
