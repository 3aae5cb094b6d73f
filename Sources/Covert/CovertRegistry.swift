/// The covert channels a worker group can run (`covert = { name = "...", ... }` in a topology),
/// with their parameters and defaults.
public enum CovertRegistry {
  public struct Entry: Sendable {
    public let name: String
    public let parameters: [String: Double]
    public let summary: String
  }

  public static let channels: [Entry] = [
    Entry(
      name: "mantissa", parameters: ["bits": 8],
      summary: "hide shard image bytes in the low `bits` mantissa bits of every update float; a wire eavesdropper reads them"),
    Entry(
      name: "sign_encoding", parameters: ["lambda": 5000, "params": 0],
      summary: "Song et al. 2017 sign encoding: the signs of the first `params` (0: all) parameters carry shard image bits"),
    Entry(
      name: "correlated_value", parameters: ["lambda": 50, "images": 0],
      summary: "Song et al. 2017 correlated value encoding: the first parameters correlate with `images` (0: as many as fit) shard images"),
    Entry(
      name: "capacity_abuse", parameters: ["inputs": 100, "mix": 0.5],
      summary:
        "Song et al. 2017 capacity abuse: labels of `inputs` synthetic inputs (a `mix` share of the worker's training samples) carry shard image bits; read by querying the final model"
    ),
  ]

  public static var names: [String] { channels.map(\.name) }

  /// The channel's parameters with defaults filled in; unknown names or keys are errors.
  public static func resolve(_ name: String, _ params: [String: Double]) throws -> [String: Double] {
    guard let e = channels.first(where: { $0.name == name }) else {
      throw CovertError("unknown covert channel \"\(name)\"; known: \(names.joined(separator: ", "))")
    }
    for k in params.keys where e.parameters[k] == nil {
      throw CovertError("covert channel \(name) has no parameter \"\(k)\"; it takes: \(e.parameters.keys.sorted().joined(separator: ", "))")
    }
    let p = e.parameters.merging(params) { _, new in new }
    for (k, v) in p where !v.isFinite || v < 0 { throw CovertError("covert channel \(name): \(k) must be a finite number ≥ 0, got \(v)") }
    if name == "mantissa" { _ = try MantissaChannel(bits: Int(p["bits"]!)) }
    if name == "capacity_abuse", p["inputs"]! < 1 { throw CovertError("covert channel capacity_abuse: inputs must be ≥ 1") }
    if name == "capacity_abuse", !(p["mix"]! > 0 && p["mix"]! < 1) {
      throw CovertError("covert channel capacity_abuse: mix must be in (0, 1), the synthetic share of the training samples")
    }
    return p
  }
}
