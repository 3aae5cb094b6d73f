import Federation

/// One line of metrics.jsonl. Everything except `timing` is a deterministic function of the
/// topology and seed; wall-clock figures live only under `timing`.
public struct RoundMetrics: Codable, Equatable, Sendable {
  public var round: Int
  public var participants: [Int]
  /// Worker ids whose update was aggregated, ascending.
  public var aggregated: [Int]
  public var workersAlive: Int
  public var testAccuracy: Double?
  public var testLoss: Double?
  public var updateNorms: [String: Double]
  /// Messages rejected during this round, by reason.
  public var rejected: [String: Int]
  /// Backdoor / targeted-flip success on the test set at evaluation rounds; null otherwise and
  /// for untargeted attacks.
  public var attackSuccessRate: Double?
  /// How much each worker's update counted in the aggregate (rules that weight rows; null for
  /// coordinate-wise rules and after pre-aggregators that mix rows).
  public var weights: [String: Double]?
  /// Audit scores and verdicts of the round (runs with auditors): the mean robust z per worker,
  /// its CUSUM, the flagged workers, and each auditor's z per worker.
  public var audit: Audit?
  /// Why the round did not change the model, if it did not.
  public var skipped: String?

  public typealias Audit = AuditRecord
  public var timing: Timing

  enum CodingKeys: String, CodingKey {
    case round, participants, aggregated, workersAlive, testAccuracy, testLoss, updateNorms, rejected, attackSuccessRate, weights, audit, skipped, timing
  }

  /// Absent values are written as null, so every line has every key.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(round, forKey: .round)
    try c.encode(participants, forKey: .participants)
    try c.encode(aggregated, forKey: .aggregated)
    try c.encode(workersAlive, forKey: .workersAlive)
    try c.encode(testAccuracy, forKey: .testAccuracy)
    try c.encode(testLoss, forKey: .testLoss)
    try c.encode(updateNorms, forKey: .updateNorms)
    try c.encode(rejected, forKey: .rejected)
    try c.encode(attackSuccessRate, forKey: .attackSuccessRate)
    try c.encode(weights, forKey: .weights)
    try c.encode(audit, forKey: .audit)
    try c.encode(skipped, forKey: .skipped)
    try c.encode(timing, forKey: .timing)
  }

  public struct Timing: Codable, Equatable, Sendable {
    public var roundMs: Double
    /// Waiting for updates (worker compute + wire).
    public var collectMs: Double
    public var aggregateMs: Double
    public var evalMs: Double
  }
}

/// What `byzsim run --json` ends with, and summary.json.
public struct RunSummary: Codable, Sendable {
  // Decodable synthesised from CodingKeys below; Encodable written out so nulls appear.
  public var runDir: String
  public var mode: String
  public var rounds: Int
  public var testAccuracy: Double?
  public var testLoss: Double?
  public var msPerRound: Double
  public var workersAlive: Int
  public var rejectedFrames: [String: Int]
  public var attackSuccessRate: Double?
  public var resumedFromRound: Int?
  public var seconds: Double
  /// Detection quality against the ground truth (audited runs; filled in by the launcher).
  public var detection: DetectionSummary?
  /// Each covert worker's channel as its receiver measured it (nil: no covert channel).
  public var covert: [CovertResult]?

  enum CodingKeys: String, CodingKey {
    case runDir, mode, rounds, testAccuracy, testLoss, msPerRound, workersAlive, rejectedFrames, attackSuccessRate, resumedFromRound, seconds, detection, covert
  }

  /// Every key is written (absent values as null): scripts can rely on them.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(runDir, forKey: .runDir); try c.encode(mode, forKey: .mode); try c.encode(rounds, forKey: .rounds)
    try c.encode(testAccuracy, forKey: .testAccuracy); try c.encode(testLoss, forKey: .testLoss)
    try c.encode(msPerRound, forKey: .msPerRound); try c.encode(workersAlive, forKey: .workersAlive)
    try c.encode(rejectedFrames, forKey: .rejectedFrames); try c.encode(attackSuccessRate, forKey: .attackSuccessRate)
    try c.encode(resumedFromRound, forKey: .resumedFromRound); try c.encode(seconds, forKey: .seconds)
    try c.encode(detection, forKey: .detection)
    try c.encode(covert, forKey: .covert)
  }
}
