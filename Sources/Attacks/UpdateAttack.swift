import Plugins
import Tensor

/// What an update attack may know in a round.
public enum Knowledge: String, Sendable, Codable, CaseIterable {
  /// Only the malicious workers' own honestly computed updates.
  case own
  /// Also every honest update of the round (leaked to the adversary hub by the coordinator).
  case omniscient
}

/// The adversary's view of one round.
public struct AttackInput: Sendable {
  public var round: Int
  /// Malicious participant id → its honestly computed update.
  public var own: [Int: [Float]]
  /// Honest participants' updates by id (omniscient knowledge only).
  public var honest: [Int: [Float]]?
  /// Participants of the round (honest + malicious).
  public var participants: Int

  public init(round: Int, own: [Int: [Float]], honest: [Int: [Float]]? = nil, participants: Int) {
    self.round = round; self.own = own; self.honest = honest; self.participants = participants
  }

  /// The benign reference set the attacker uses: the honest updates if known, else its own
  /// honest updates (a sample of the same distribution), in id order.
  public var benign: [[Float]] {
    let source = honest ?? own
    return source.keys.sorted().map { source[$0]! }
  }
  public var maliciousIDs: [Int] { own.keys.sorted() }
  public var dimension: Int { own.values.first?.count ?? 0 }
}

/// What one malicious worker submits.
public enum AttackOutput: Sendable, Equatable {
  case vector([Float])
  /// Submit nothing this round.
  case drop
}

/// A Byzantine update attack, run by the adversary hub for all malicious workers at once.
public protocol UpdateAttack: Sendable {
  var name: String { get }
  /// The least knowledge the attack needs (omniscient attacks refuse `own`).
  var needs: Knowledge { get }
  mutating func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput]
}

public struct AttackError: PluginFailure, Equatable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Coordinate-wise mean and (population) standard deviation of vectors, in Double.
enum Stats {
  static func meanStd(_ v: [[Float]]) -> (mean: [Double], std: [Double]) {
    let d = v[0].count, n = Double(v.count)
    var mu = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
    for x in v { for j in 0..<d { mu[j] += Double(x[j]) } }
    for j in 0..<d { mu[j] /= n }
    for x in v { for j in 0..<d { let e = Double(x[j]) - mu[j]; sq[j] += e * e } }
    return (mu, sq.map { ($0 / n).squareRoot() })
  }

  static func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

  static func distance(_ a: [Double], _ b: [Float]) -> Double {
    var s = 0.0
    for j in a.indices { let e = a[j] - Double(b[j]); s += e * e }
    return s.squareRoot()
  }

  /// The same vector for every malicious worker.
  static func same(_ v: [Double], _ ids: [Int]) -> [Int: AttackOutput] {
    let f = v.map(Float.init)
    return Dictionary(uniqueKeysWithValues: ids.map { ($0, .vector(f)) })
  }
}
