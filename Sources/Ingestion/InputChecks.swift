import Data
import Foundation
import Tensor

/// Input-space checks a data owner can run on every shard at ingestion, before any training:
/// values out of range, exact duplicates (and duplicates whose labels disagree — one of them is
/// mislabelled), near-duplicates, and per-class outliers.
///
/// - Out of range: a value that is NaN, ±Inf or outside [0, 1].
/// - Duplicates: samples with exactly the same values as an earlier one; when copies carry
///   different labels, every copy is a conflict.
/// - Near-duplicates: samples whose mean absolute difference from an earlier one in the same
///   coarse bucket (4×4 block means quantised to 8 levels) is at most `nearTolerance`.
/// - Outliers: per class, the Euclidean distance of each sample to the class's mean image,
///   robust z = (distance − median) / (1.4826 · MAD); above `outlierZ` is an outlier.
///
/// Worked example (by hand, 1×2 images, one class): [0, 0], [0, 0] (a duplicate), [0.1, 0],
/// [0.2, 0], [0.1, 0.1], [1, 1]: mean (0.2333, 0.1833); distances 0.2967, 0.2967, 0.2267,
/// 0.1863, 0.1572, 1.1201; median 0.2617, MAD 0.0552; the last has z = 10.49 and is the outlier.
public struct InputChecks: Sendable {
  public var nearTolerance = 0.01
  public var outlierZ = 3.5

  public init(nearTolerance: Double = 0.01, outlierZ: Double = 3.5) {
    self.nearTolerance = nearTolerance; self.outlierZ = outlierZ
  }

  public struct Report: Sendable, Equatable {
    public var outOfRange: [Int] = []
    public var duplicates: [Int] = []
    public var conflicting: [Int] = []
    public var nearDuplicates: [Int] = []
    public var outliers: [Int] = []
    /// What the checks would drop as suspect: out of range, conflicting duplicates, outliers.
    public var flagged: Set<Int> { Set(outOfRange).union(conflicting).union(outliers) }
  }

  public func run(_ data: Dataset) -> Report {
    var report = Report()
    let d = data.shape.size, n = data.count
    func row(_ i: Int) -> ArraySlice<Float> { data.features[(i * d)..<((i + 1) * d)] }
    for i in 0..<n where row(i).contains(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) { report.outOfRange.append(i) }
    // Exact duplicates, by their bit patterns.
    var groups: [[UInt32]: [Int]] = [:]
    for i in 0..<n { groups[row(i).map(\.bitPattern), default: []].append(i) }
    var conflicting = Set<Int>()
    for members in groups.values where members.count > 1 {
      report.duplicates += members.dropFirst()
      if Set(members.map { data.labels[$0] }).count > 1 { conflicting.formUnion(members) }
    }
    report.duplicates.sort()
    report.conflicting = conflicting.sorted()
    report.nearDuplicates = nearDuplicates(data, exact: Set(report.duplicates))
    report.outliers = outliers(data)
    return report
  }

  /// Coarse bucket: 4×4 block means of the first channel, quantised to 8 levels.
  func bucket(_ data: Dataset, _ i: Int) -> [UInt8] {
    let s = data.shape, d = s.size
    let bh = max(1, s.height / 4), bw = max(1, s.width / 4)
    var key: [UInt8] = []
    for by in stride(from: 0, to: s.height, by: bh) {
      for bx in stride(from: 0, to: s.width, by: bw) {
        var sum = 0.0, count = 0
        for y in by..<min(s.height, by + bh) {
          for x in bx..<min(s.width, bx + bw) {
            let v = Double(data.features[i * d + (y * s.width + x) * s.channels])
            sum += v.isFinite ? min(max(v, 0), 1) : 0
            count += 1
          }
        }
        key.append(UInt8(min(7, Int(sum / Double(count) * 8))))
      }
    }
    return key
  }

  func nearDuplicates(_ data: Dataset, exact: Set<Int>) -> [Int] {
    let d = data.shape.size
    var buckets: [[UInt8]: [Int]] = [:]
    var out: [Int] = []
    for i in 0..<data.count where !exact.contains(i) {
      let key = bucket(data, i)
      let earlier = buckets[key, default: []]
      let near = earlier.contains { j in
        var s = 0.0
        for t in 0..<d { s += Double(abs(data.features[i * d + t] - data.features[j * d + t])) }
        return s / Double(d) <= nearTolerance
      }
      if near { out.append(i) } else { buckets[key, default: []].append(i) }
    }
    return out
  }

  func outliers(_ data: Dataset) -> [Int] {
    let d = data.shape.size
    var out: [Int] = []
    for members in ClassRows.group(data.labels, classes: data.classes) where members.count >= 3 {
      var mean = [Double](repeating: 0, count: d)
      for i in members { for j in 0..<d { mean[j] += Double(data.features[i * d + j]) } }
      for j in 0..<d { mean[j] /= Double(members.count) }
      let dist = members.map { i -> Double in
        var s = 0.0
        for j in 0..<d { let t = Double(data.features[i * d + j]) - mean[j]; s += t * t }
        return s.squareRoot()
      }
      let median = Statistics.median(dist)
      let mad = Statistics.median(dist.map { abs($0 - median) })
      guard mad > 0 else { continue }
      for (k, i) in members.enumerated() where (dist[k] - median) / (1.4826 * mad) > outlierZ { out.append(i) }
    }
    return out.sorted()
  }
}
