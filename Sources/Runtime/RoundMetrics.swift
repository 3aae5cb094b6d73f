import Federation

/// One line of metrics.jsonl. Everything except `timing` is a deterministic function of the
/// topology and seed; wall-clock figures live only under `timing`.
public struct RoundMetrics: Codable, Equatable, Sendable {
  public var round: Int
  public var participants: [Int]
  /// Worker ids whose update was aggregated, ascending.
  public var aggregated: [Int]
  public var workersAlive: Int
  @Nullable public var testAccuracy: Double?
  @Nullable public var testLoss: Double?
  public var updateNorms: [String: Double]
  /// Messages rejected during this round, by reason.
  public var rejected: [String: Int]
  /// Backdoor / targeted-flip success on the test set at evaluation rounds; null otherwise and
  /// for untargeted attacks.
  @Nullable public var attackSuccessRate: Double?
  /// How much each worker's update counted in the aggregate (rules that weight rows; null for
  /// coordinate-wise rules and after pre-aggregators that mix rows).
  @Nullable public var weights: [String: Double]?
  /// Audit scores and verdicts of the round (runs with auditors): the mean robust z per worker,
  /// its CUSUM, the flagged workers, and each auditor's z per worker.
  @Nullable public var audit: Audit?
  /// Why the round did not change the model, if it did not.
  @Nullable public var skipped: String?
  /// The owner's watermark (`coordinator.watermark_triggers`): the share of its triggers the
  /// round's model gives their labels after the server's retraining; null without one.
  @Nullable public var watermarkAccuracy: Double? = nil

  public typealias Audit = AuditRecord
  public var timing: Timing

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
  // Every optional is @Nullable: written as null when absent, so every key is always there.
  public var runDir: String
  public var mode: String
  public var rounds: Int
  @Nullable public var testAccuracy: Double?
  @Nullable public var testLoss: Double?
  public var msPerRound: Double
  public var workersAlive: Int
  public var rejectedFrames: [String: Int]
  @Nullable public var attackSuccessRate: Double?
  /// The owner's watermark on the final model (trigger accuracy); null without one.
  @Nullable public var watermarkAccuracy: Double? = nil
  /// The privacy the run's DP mechanisms guarantee (RDP accountant); null without DP.
  @Nullable public var dp: [PrivacyGuarantee]? = nil
  @Nullable public var resumedFromRound: Int?
  public var seconds: Double
  /// Detection quality against the ground truth (audited runs; filled in by the launcher).
  @Nullable public var detection: DetectionSummary?
  /// Each covert worker's channel as its receiver measured it (nil: no covert channel).
  @Nullable public var covert: [CovertResult]?
  /// What a curious coordinator read out of the updates, scored against the real batches.
  @Nullable public var gradientLeakage: GradientLeakageSummary? = nil

}

/// One DP mechanism of a run and the (ε, δ) the RDP accountant gives it (Balle et al. 2020
/// conversion, Opacus's orders) — `byzsim dp epsilon` with the same figures prints the same ε.
public struct PrivacyGuarantee: Codable, Equatable, Sendable {
  /// "dp-sgd" (each worker's training samples) or "dp-fedavg" (each worker's whole data).
  public var mechanism: String
  /// Null when the accountant finds no finite bound (noise too small for any order).
  @Nullable public var epsilon: Double?
  public var delta: Double
  @Nullable public var order: Double?
  /// The subsampling rate of one step (DP-SGD: the worst worker's batch / shard size; DP-FedAvg:
  /// the participation fraction) and the steps composed.
  public var sampleRate: Double
  public var steps: Int
  public var noiseMultiplier: Double
  public var clip: Double
}
