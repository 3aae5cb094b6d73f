import Plugins
import Tensor

/// What a round gives an aggregator besides the updates.
public struct RoundContext: Sendable {
  public var round: Int
  /// Seeds the rule's own random choices (bucketing, DnC subsampling, DP noise).
  public var seed: UInt64
  /// FLTrust: the coordinator's update on its clean root dataset, this round.
  public var reference: [Float]?

  public init(round: Int = 0, seed: UInt64 = 0, reference: [Float]? = nil) {
    self.round = round; self.seed = seed; self.reference = reference
  }

  /// A random stream for `purpose` of this round (deterministic from seed and round).
  public func rng(_ salt: UInt64) -> RandomStream {
    RandomStream(seed: seed, purpose: .attack, 0xA66, UInt64(round), salt)
  }
}

/// The output of an aggregator: the vector, and — for auditors — how much each input row
/// counted (weights sum to 1 for averaging rules; nil for coordinate-wise rules).
public struct AggregationResult: Sendable {
  public var vector: [Float]
  public var weights: [Double]?
  public init(vector: [Float], weights: [Double]? = nil) { self.vector = vector; self.weights = weights }
}

/// A robust (or plain) aggregation rule: n×d updates in, one d-vector out. Pure: no I/O.
/// Rules with history (centered clipping, FoolsGold) keep it in their value.
public protocol Aggregator: Sendable {
  /// The registry name.
  var name: String { get }
  /// Why this rule cannot aggregate `n` inputs safely, or nil.
  func problem(n: Int) -> String?
  mutating func aggregate(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult
  /// History to carry across a checkpoint (empty for stateless rules).
  var state: [Float] { get }
  mutating func restore(state: [Float]) throws
}

extension Aggregator {
  public var state: [Float] { [] }
  public mutating func restore(state: [Float]) throws {
    guard state.isEmpty else { throw AggregationError("\(name) keeps no state, but the checkpoint holds \(state.count) values") }
  }
}

/// A pre-aggregator: n×d in, n'×d out, chained before an aggregator.
public protocol PreAggregator: Sendable {
  var name: String { get }
  /// How many rows it outputs for `n` inputs.
  func outputCount(n: Int) -> Int
  func problem(n: Int) -> String?
  func transform(_ x: UpdateMatrix, context: RoundContext) throws -> UpdateMatrix
}

extension PreAggregator {
  public func outputCount(n: Int) -> Int { n }
  public func problem(n: Int) -> String? { nil }
}

public struct AggregationError: PluginFailure, Equatable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
