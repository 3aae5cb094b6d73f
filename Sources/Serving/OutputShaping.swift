import Foundation
import Tensor

extension OutputPolicy {
  /// The JSON object a caller under this policy sees for one input's probabilities, printed as
  /// the shortest decimals that read back as the same Float32 (7 significant digits). Noise
  /// (if any) comes first, drawn from `rng`: N(0, noise²) per probability, clipped to [0, 1]
  /// and renormalised; the label is the argmax of what is shown.
  public func shape(_ probabilities: [Double], rng: inout RandomStream) -> String {
    var bytes: [UInt8] = []
    write(probabilities, rng: &rng, into: &bytes)
    return String(decoding: bytes, as: UTF8.self)
  }

  /// `shape`'s JSON appended to `out` as UTF-8 (a batch's answers are built in one buffer:
  /// a string per number cost 16% of a batched prediction).
  public func write(_ probabilities: [Double], rng: inout RandomStream, into out: inout [UInt8]) {
    let (p, label) = noised(probabilities, rng: &rng)
    out.append(contentsOf: #"{"label":"#.utf8)
    Self.append(label, to: &out)
    switch kind {
    case .label:
      break
    case .full, .rounded:
      out.append(contentsOf: #","probabilities":["#.utf8)
      for (i, v) in p.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: kind == .full ? Float(v).description.utf8 : Self.round(v, decimals).utf8)
      }
      out.append(UInt8(ascii: "]"))
    case .topK:
      out.append(contentsOf: #","top":["#.utf8)
      for (n, c) in Self.top(topK, of: p).enumerated() {
        out.append(contentsOf: (n == 0 ? #"{"class":"# : #",{"class":"#).utf8)
        Self.append(c, to: &out)
        out.append(contentsOf: #","probability":"#.utf8)
        out.append(contentsOf: Float(p[c]).description.utf8)
        out.append(UInt8(ascii: "}"))
      }
      out.append(UInt8(ascii: "]"))
    }
    out.append(UInt8(ascii: "}"))
  }

  /// The indices of the k largest values, largest first, ties to the lower index (a stable
  /// sort's prefix, kept by insertion: k is small and a sort of every class allocates).
  static func top(_ k: Int, of p: [Double]) -> [Int] {
    var order: [Int] = []
    order.reserveCapacity(min(k, p.count))
    for i in p.indices {
      var at = order.count
      while at > 0, p[i] > p[order[at - 1]] { at -= 1 }
      if at < k {
        order.insert(i, at: at)
        if order.count > k { order.removeLast() }
      }
    }
    return order
  }

  /// A non-negative integer's decimal digits.
  static func append(_ value: Int, to out: inout [UInt8]) {
    if value >= 10 { append(value / 10, to: &out) }
    out.append(UInt8(ascii: "0") + UInt8(value % 10))
  }

  /// The probabilities after the policy's noise (if any), and the label shown (their argmax).
  func noised(_ probabilities: [Double], rng: inout RandomStream) -> (probabilities: [Double], label: Int) {
    var p = probabilities
    if noise > 0 {
      for i in p.indices { p[i] = min(1, max(0, p[i] + noise * rng.nextNormal())) }
      let total = p.reduce(0, +)
      if total > 0 { for i in p.indices { p[i] /= total } } else { p = probabilities }
    }
    var label = 0
    for i in p.indices where p[i] > p[label] { label = i }
    return (p, label)
  }

  /// What a caller under this policy learns about one input, as a probability vector (the
  /// numbers `shape` prints): `full`, each as Float32; `rounded`, each rounded; `top-k`, the k
  /// shown and the rest of the mass spread evenly over the classes not shown; `label`, one-hot.
  /// The membership and inversion attacks see the server through this.
  public func observed(_ probabilities: [Double], rng: inout RandomStream) -> [Double] {
    let (p, label) = noised(probabilities, rng: &rng)
    switch kind {
    case .label:
      return p.indices.map { $0 == label ? 1 : 0 }
    case .full:
      return p.map { Double(Float($0)) }
    case .rounded:
      return p.map { Double(Self.round($0, decimals))! }
    case .topK:
      let shown = Set(Self.top(topK, of: p))
      let mass = shown.reduce(0.0) { $0 + Double(Float(p[$1])) }
      let rest = p.count > shown.count ? max(0, 1 - mass) / Double(p.count - shown.count) : 0
      return p.indices.map { shown.contains($0) ? Double(Float(p[$0])) : rest }
    }
  }

  /// A server's answer for one input (one element of `outputs`) as the probability vector
  /// `observed` gives for the same policy — so an attack run against `byzsim serve` sees exactly
  /// what the same attack simulated on the model file sees. Nil if it is not such an answer.
  public static func observed(answer: [String: Any], classes: Int) -> [Double]? {
    guard let label = answer["label"] as? Int, (0..<classes).contains(label) else { return nil }
    if let p = answer["probabilities"] as? [Any] {
      let values = p.compactMap { ($0 as? NSNumber)?.doubleValue }
      return values.count == classes ? values : nil
    }
    if let top = answer["top"] as? [[String: Any]] {
      var shown: [Int: Double] = [:]
      for item in top {
        guard let c = item["class"] as? Int, (0..<classes).contains(c), let p = (item["probability"] as? NSNumber)?.doubleValue else {
          return nil
        }
        shown[c] = p
      }
      let mass = shown.values.reduce(0, +)
      let rest = classes > shown.count ? max(0, 1 - mass) / Double(classes - shown.count) : 0
      return (0..<classes).map { shown[$0] ?? rest }
    }
    return (0..<classes).map { $0 == label ? 1 : 0 }
  }

  /// `value` rounded half away from zero to `decimals` places, printed without float noise.
  static func round(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (value * scale).rounded(.toNearestOrAwayFromZero)
    let integer = Int(scaled)
    guard decimals > 0 else { return "\(integer)" }
    let whole = integer / Int(scale)
    let fraction = String(integer % Int(scale))
    return "\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
  }
}
