/// Centered clipping (Karimireddy, He & Jaggi 2021, "Learning from history for Byzantine robust
/// optimization", ICML):
///
///     v₀ = previous aggregate (0 in the first round);  v_{l+1} = v_l + (1/n) Σᵢ (xᵢ − v_l)·min(1, τ/‖xᵢ − v_l‖)
///
/// for L iterations. Stateful: remembers its last output, as in the paper (with worker momentum
/// the centre is the previous aggregate). Norms via one GEMV per iteration.
///
/// Worked example (τ = 1, L = 1, v₀ = 0): [3,4], [0,0.5]: ‖[3,4]‖ = 5 → clipped to [0.6, 0.8];
/// [0,0.5] kept → v = ([0.6,0.8] + [0,0.5]) / 2 = [0.3, 0.65].
public struct CenteredClipping: Aggregator {
  public let name = "centered_clipping"
  public let tau: Double
  public let iterations: Int
  /// The previous round's output (empty before the first round).
  public private(set) var center: [Float] = []

  public init(tau: Double = 10, iterations: Int = 1) throws {
    guard tau > 0, tau.isFinite else { throw AggregationError("tau must be > 0 for centered clipping: got tau=\(tau)") }
    guard iterations >= 1 else { throw AggregationError("iterations must be >= 1 for centered clipping: got \(iterations)") }
    self.tau = tau; self.iterations = iterations
  }
  public func problem(n: Int) -> String? { n >= 1 ? nil : "centered clipping needs at least 1 update" }

  public var state: [Float] { center }
  public mutating func restore(state: [Float]) throws { center = state }

  public mutating func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    let n = x.rows
    var v = center.count == x.cols ? center.map(Double.init) : [Double](repeating: 0, count: x.cols)
    var lastWeights = [Double](repeating: 1 / Double(n), count: n)
    for _ in 0..<iterations {
      let vf = v.map(Float.init)
      let xv = UpdateMatrix(rows: 1, cols: x.cols, data: vf)
      let vNorm2 = vf.reduce(0.0) { $0 + Double($1) * Double($1) }
      let rowNorm2 = x.norms().map { $0 * $0 }
      let dots = x.combinationDots(xv.data)
      var c = [Double](repeating: 0, count: n)
      for i in 0..<n {
        let dist = max(0, rowNorm2[i] - 2 * dots[i] + vNorm2).squareRoot()
        c[i] = (dist > 0 ? min(1, tau / dist) : 1) / Double(n)
      }
      // v ← v + Σ cᵢ(xᵢ − v) = Σ cᵢ xᵢ + (1 − Σ cᵢ) v
      let cx = x.combination(c)
      let keep = 1 - c.reduce(0, +)
      for j in 0..<x.cols { v[j] = Double(cx[j]) + keep * v[j] }
      lastWeights = c
    }
    center = v.map(Float.init)
    return AggregationResult(vector: center, weights: lastWeights.map { $0 })
  }
}

extension UpdateMatrix {
  /// xᵢ · y for every row (one GEMV).
  func combinationDots(_ y: [Float]) -> [Double] {
    var out = [Float](repeating: 0, count: rows)
    data.withUnsafeBufferPointer { a in
      y.withUnsafeBufferPointer { yv in
        out.withUnsafeMutableBufferPointer { o in
          BLAS.gemv(.none, rows: rows, cols: cols, a: a.baseAddress!, lda: cols, x: yv.baseAddress!, y: o.baseAddress!)
        }
      }
    }
    return out.map(Double.init)
  }
}

import Tensor
