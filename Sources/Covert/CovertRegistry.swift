import Plugins

/// The covert channels a worker group can run (`covert = { name = "...", ... }` in a topology).
public enum CovertChannel: String, Sendable, Codable, CaseIterable {
  case mantissa
  case signEncoding = "sign_encoding"
  case correlatedValue = "correlated_value"
  case capacityAbuse = "capacity_abuse"

  /// Read off the wire by an eavesdropper (the others are read from the final model).
  public var onTheWire: Bool { self == .mantissa }
  /// Adds a gradient term to every local step (Song et al.'s white-box encodings).
  public var encodesParameters: Bool { self == .signEncoding || self == .correlatedValue }
  /// Trains in its attack rounds on a shard of its own (its data plus the synthetic inputs).
  public var trainsOnAttackShard: Bool { self == .capacityAbuse }
}

/// The registry of covert channels, in the one registry shape: name, summary, parameters with
/// their defaults and checks, and the channel they resolve to.
public enum CovertRegistry {
  static let nonNegative: @Sendable (Double) -> String? = { $0 >= 0 ? nil : "must be a finite number ≥ 0" }

  public static let channels = PluginRegistry<CovertChannel>(
    kind: "covert channel",
    [
      Plugin(
        "mantissa", "hide shard image bytes in the low `bits` mantissa bits of every update float; a wire eavesdropper reads them",
        [.integer("bits", 8) { (1...16).contains($0) ? nil : "must be in 1...16 (of 23 mantissa bits)" }]
      ) { _ in .mantissa },
      Plugin(
        "sign_encoding", "Song et al. 2017 sign encoding: the signs of the first `params` (0: all) parameters carry shard image bits",
        [.real("lambda", 5000, nonNegative), .integer("params", 0, nonNegative)]
      ) { _ in .signEncoding },
      Plugin(
        "correlated_value",
        "Song et al. 2017 correlated value encoding: the first parameters correlate with `images` (0: as many as fit) shard images",
        [.real("lambda", 50, nonNegative), .integer("images", 0, nonNegative)]
      ) { _ in .correlatedValue },
      Plugin(
        "capacity_abuse",
        "Song et al. 2017 capacity abuse: labels of `inputs` synthetic inputs (a `mix` share of the worker's training samples) carry shard image bits; read by querying the final model",
        [
          .integer("inputs", 100, Check.atLeastOne),
          .real("mix", 0.5) { $0 > 0 && $0 < 1 ? nil : "must be in (0, 1), the synthetic share of the training samples" },
        ]
      ) { _ in .capacityAbuse },
    ])

  public static var names: [String] { channels.names }

  /// The channel's parameters with defaults filled in; unknown names or keys are errors.
  public static func resolve(_ name: String, _ params: [String: Double]) throws -> [String: Double] {
    do { return try channels.resolve(name, params).values } catch let e as PluginError { throw CovertError(e.message) }
  }

  /// A resolved channel's parameter, or its registry default: the one source of defaults.
  public static func parameter(_ name: String, of channel: String, in params: [String: Double]) -> Double {
    params[name] ?? channels.plugins.first { $0.name == channel }?.parameters.first { $0.name == name }?.defaultValue ?? 0
  }
}
