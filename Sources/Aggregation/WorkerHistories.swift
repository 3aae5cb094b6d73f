import Tensor

/// Each worker's running sum of its updates — the memory of FoolsGold and of the
/// history-similarity auditor — and its checkpoint layout:
///
///     [workers, d, then per worker (ascending id): id, d floats]
///
/// A worker whose update length changes starts again from zero.
public struct WorkerHistories: Sendable, Equatable {
  public private(set) var sums: [Int: [Float]] = [:]

  public init() {}

  /// Adds every row of `x` to its worker's sum (in place: no copy of d floats).
  public mutating func add(_ x: UpdateMatrix) {
    let d = x.cols
    for i in 0..<x.rows {
      var h = sums.removeValue(forKey: x.ids[i]) ?? []
      if h.count != d { h = [Float](repeating: 0, count: d) }
      x.data.withUnsafeBufferPointer { rows in
        h.withUnsafeMutableBufferPointer { BLAS.axpy(count: d, alpha: 1, x: rows.baseAddress! + i * d, y: $0.baseAddress!) }
      }
      sums[x.ids[i]] = h
    }
  }

  /// The sums of `ids`, as the rows of a matrix.
  public func matrix(_ ids: [Int]) -> UpdateMatrix { UpdateMatrix(ids.map { sums[$0]! }) }

  public var encoded: [Float] {
    let ids = sums.keys.sorted()
    let d = ids.first.map { sums[$0]!.count } ?? 0
    return [Float(ids.count), Float(d)] + ids.flatMap { [Float($0)] + sums[$0]! }
  }

  /// Decodes `encoded`; every count and id is checked before it is used (a checkpoint is input).
  /// - owner: who keeps it, for the error ("FoolsGold").
  public init(decoding s: [Float], owner: String) throws {
    guard !s.isEmpty else { return }
    // Counts and ids are whole numbers stored as floats: check them before converting.
    func whole(_ x: Float, below limit: Float) -> Int? { x.isFinite && x >= 0 && x < limit && x.rounded() == x ? Int(x) : nil }
    guard s.count >= 2, let count = whole(s[0], below: 1_048_576), let d = whole(s[1], below: 1_073_741_824),
      case let (body, overflow) = count.multipliedReportingOverflow(by: d + 1), !overflow, s.count == 2 + body
    else {
      throw AggregationError("\(owner) state has \(s.count) values, which does not match its header")
    }
    for k in 0..<count {
      let o = 2 + k * (d + 1)
      guard let id = whole(s[o], below: 16_777_216), sums[id] == nil else {
        throw AggregationError("\(owner) state: bad or repeated worker id \(s[o])")
      }
      sums[id] = Array(s[(o + 1)..<(o + 1 + d)])
    }
  }
}
