import Aggregation

/// Activation clustering (Chen et al., "Detecting Backdoor Attacks on Deep Neural Networks by
/// Activation Clustering", SafeAI@AAAI 2019): per class, reduce the last hidden layer's
/// activations to a few components, split them in two with k-means, and call the smaller
/// cluster poison when it is small enough (relative size) and the split is clean (silhouette) —
/// a backdoored class holds two populations, clean images and triggered ones.
///
/// Variant: Chen et al. reduce with ICA to 10 components; here PCA (the top `components`
/// eigenvectors of the class's covariance, deterministic), then 2-means (Lloyd) started from the
/// point farthest from the mean and the point farthest from it. The silhouette is the mean over
/// at most 1,000 evenly spaced members (exact for smaller classes). A class is flagged when the
/// smaller cluster holds at most `maxShare` of it and the silhouette is at least `minSilhouette`.
///
/// Worked check (one class, d = 1, one component): values 0, 0.2, 0.4, 0.6, 5, 5.4 split into
/// {0, .2, .4, .6} and {5, 5.4}; silhouette 0.927282 (per point (b − a)/max(a, b), a and b the mean distances to its own and the other cluster);
/// the smaller cluster (2 of 6, share 0.333) is flagged.
public struct ActivationClustering: Sendable {
  public var components = 10
  public var maxShare = 0.35
  public var minSilhouette = 0.15

  public init(components: Int = 10, maxShare: Double = 0.35, minSilhouette: Double = 0.15) {
    self.components = components; self.maxShare = maxShare; self.minSilhouette = minSilhouette
  }

  /// One class's analysis: the members of the smaller cluster (indices into the rows), its
  /// share of the class, and the silhouette of the split.
  public struct Split: Sendable, Equatable {
    public var smaller: [Int]
    public var share: Double
    public var silhouette: Double
    public var flagged: Bool
  }

  /// Splits `rows` (n × d, row-major) of one class.
  public func split(_ rows: [Double], n: Int, d: Int) -> Split {
    guard n >= 4 else { return Split(smaller: [], share: 0, silhouette: 0, flagged: false) }
    let points = project(rows, n: n, d: d)
    let k = points.count / n
    func dist(_ a: Int, _ b: [Double]) -> Double {
      var s = 0.0
      for j in 0..<k { let t = points[a * k + j] - b[j]; s += t * t }
      return s
    }
    func row(_ i: Int) -> [Double] { Array(points[(i * k)..<((i + 1) * k)]) }
    // Start: the point farthest from the mean (the projected points are centred), then the
    // point farthest from it.
    let zero = [Double](repeating: 0, count: k)
    let first = (0..<n).max { dist($0, zero) < dist($1, zero) || (dist($0, zero) == dist($1, zero) && $0 > $1) }!
    let second = (0..<n).max { dist($0, row(first)) < dist($1, row(first)) || (dist($0, row(first)) == dist($1, row(first)) && $0 > $1) }!
    var centres = [row(first), row(second)]
    var assignment = [Int](repeating: 0, count: n)
    for _ in 0..<100 {
      var changed = false
      for i in 0..<n {
        let c = dist(i, centres[1]) < dist(i, centres[0]) ? 1 : 0
        if c != assignment[i] { assignment[i] = c; changed = true }
      }
      var sums = [[Double]](repeating: zero, count: 2), counts = [0, 0]
      for i in 0..<n {
        counts[assignment[i]] += 1
        for j in 0..<k { sums[assignment[i]][j] += points[i * k + j] }
      }
      for c in 0..<2 where counts[c] > 0 { centres[c] = sums[c].map { $0 / Double(counts[c]) } }
      if !changed { break }
    }
    let sizes = [assignment.filter { $0 == 0 }.count, assignment.filter { $0 == 1 }.count]
    guard sizes[0] > 0, sizes[1] > 0 else { return Split(smaller: [], share: 0, silhouette: 0, flagged: false) }
    let small = sizes[0] <= sizes[1] ? 0 : 1
    let members = (0..<n).filter { assignment[$0] == small }
    let share = Double(members.count) / Double(n)
    let s = silhouette(points, k: k, n: n, assignment: assignment)
    return Split(smaller: members, share: share, silhouette: s, flagged: share <= maxShare && s >= minSilhouette)
  }

  /// The samples in flagged classes' smaller clusters, over `representations` (count × d).
  public func flag(representations: [Float], d: Int, labels: [Int32], classes: Int) -> Set<Int> {
    var out = Set<Int>()
    for members in ClassRows.group(labels, classes: classes) {
      var rows = [Double](repeating: 0, count: members.count * d)
      for (k, i) in members.enumerated() { for j in 0..<d { rows[k * d + j] = Double(representations[i * d + j]) } }
      let s = split(rows, n: members.count, d: d)
      if s.flagged { for k in s.smaller { out.insert(members[k]) } }
    }
    return out
  }

  /// The rows centred and projected on the top `components` principal axes (n × k).
  func project(_ rows: [Double], n: Int, d: Int) -> [Double] {
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += rows[i * d + j] } }
    for j in 0..<d { mean[j] /= Double(n) }
    var c = rows
    for i in 0..<n { for j in 0..<d { c[i * d + j] -= mean[j] } }
    let k = min(components, d)
    if k == d { return c }
    var cov = [Double](repeating: 0, count: d * d)
    for i in 0..<n {
      for a in 0..<d {
        let x = c[i * d + a]
        if x == 0 { continue }
        for b in a..<d { cov[a * d + b] += x * c[i * d + b] }
      }
    }
    for a in 0..<d { for b in 0..<a { cov[a * d + b] = cov[b * d + a] } }
    let (values, vectors) = SymmetricEigen.decompose(cov, d)
    let axes = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k)
    var out = [Double](repeating: 0, count: n * k)
    for i in 0..<n {
      for (t, axis) in axes.enumerated() {
        var p = 0.0
        for j in 0..<d { p += c[i * d + j] * vectors[j * d + axis] }
        out[i * k + t] = p
      }
    }
    return out
  }

  /// Mean silhouette of a two-cluster assignment over at most 1,000 evenly spaced points.
  func silhouette(_ points: [Double], k: Int, n: Int, assignment: [Int]) -> Double {
    let step = max(1, n / 1000)
    let sample = Array(stride(from: 0, to: n, by: step))
    var total = 0.0
    for i in sample {
      var sum = [0.0, 0.0], count = [0, 0]
      for j in sample where j != i {
        var s = 0.0
        for t in 0..<k { let x = points[i * k + t] - points[j * k + t]; s += x * x }
        sum[assignment[j]] += s.squareRoot()
        count[assignment[j]] += 1
      }
      let own = assignment[i], other = 1 - own
      guard count[own] > 0, count[other] > 0 else { continue }
      let a = sum[own] / Double(count[own]), b = sum[other] / Double(count[other])
      total += max(a, b) > 0 ? (b - a) / max(a, b) : 0
    }
    return total / Double(sample.count)
  }
}
