import Foundation
import Tensor

extension OutputPolicy {
  /// The JSON object a caller under this policy sees for one input's probabilities, printed as
  /// the shortest decimals that read back as the same Float32 (7 significant digits). Noise
  /// (if any) comes first, drawn from `rng`: N(0, noise²) per probability, clipped to [0, 1]
  /// and renormalised; the label is the argmax of what is shown.
  public func shape(_ probabilities: [Double], rng: inout RandomStream) -> String {
    let (p, label) = noised(probabilities, rng: &rng)
    switch kind {
    case .label:
      return "{\"label\":\(label)}"
    case .full:
      return "{\"label\":\(label),\"probabilities\":[\(p.map { "\(Float($0))" }.joined(separator: ","))]}"
    case .rounded:
      return "{\"label\":\(label),\"probabilities\":[\(p.map { Self.round($0, decimals) }.joined(separator: ","))]}"
    case .topK:
      let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(topK)
      let items = order.map { "{\"class\":\($0),\"probability\":\(Float(p[$0]))}" }
      return "{\"label\":\(label),\"top\":[\(items.joined(separator: ","))]}"
    }
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
      let shown = Set(p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(topK))
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
