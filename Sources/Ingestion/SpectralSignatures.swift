import Aggregation

/// Spectral signatures (Tran, Li & Madry, "Spectral Signatures in Backdoor Attacks", NeurIPS
/// 2018, Algorithm 1): per class, centre the learned representations of the class's samples
/// (the penultimate layer of a model trained on the data), take the top right singular vector v
/// of the centred matrix, score each sample by its squared projection ((r − r̄)·v)², and remove
/// the 1.5·ε·n highest-scoring samples of the class (ε: the poison rate the defender assumes).
///
/// Worked check (the issue's): representations [1, .1], [.9, −.1], [1.1, 0], [1, .05], [.2, 2],
/// [.3, 2.2] of one class score 0.431566, 0.659114, 0.615703, 0.495680, 1.963624, 2.421805.
public enum SpectralSignatures {
  /// The scores of `rows` (n × d, row-major), in row order.
  public static func scores(_ rows: [Double], n: Int, d: Int) -> [Double] {
    guard n > 1, d > 0 else { return [Double](repeating: 0, count: n) }
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += rows[i * d + j] } }
    for j in 0..<d { mean[j] /= Double(n) }
    var centred = rows
    for i in 0..<n { for j in 0..<d { centred[i * d + j] -= mean[j] } }
    // The top right singular vector of M is the top eigenvector of MᵀM (d × d).
    var gram = [Double](repeating: 0, count: d * d)
    for i in 0..<n {
      let base = i * d
      for a in 0..<d {
        let x = centred[base + a]
        if x == 0 { continue }
        for b in a..<d { gram[a * d + b] += x * centred[base + b] }
      }
    }
    for a in 0..<d { for b in 0..<a { gram[a * d + b] = gram[b * d + a] } }
    let v = SymmetricEigen.top(gram, d).vector
    return (0..<n).map { i in
      var p = 0.0
      for j in 0..<d { p += centred[i * d + j] * v[j] }
      return p * p
    }
  }

  /// The samples to remove: per class, the ⌊1.5·ε·n_c⌉ highest scores of `representations`
  /// (count × d, row-major). Ties are broken by index, so the result is deterministic.
  public static func flag(representations: [Float], d: Int, labels: [Int32], classes: Int, epsilon: Double) -> Set<Int> {
    var out = Set<Int>()
    for members in ClassRows.group(labels, classes: classes) where members.count > 1 {
      var rows = [Double](repeating: 0, count: members.count * d)
      for (k, i) in members.enumerated() { for j in 0..<d { rows[k * d + j] = Double(representations[i * d + j]) } }
      let s = scores(rows, n: members.count, d: d)
      let remove = min(members.count, Int((1.5 * epsilon * Double(members.count)).rounded()))
      let order = members.indices.sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
      for k in order.prefix(remove) { out.insert(members[k]) }
    }
    return out
  }
}
