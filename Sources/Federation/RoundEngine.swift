import Aggregation
import Audit
import Covert
import Foundation
import Learning
import Tensor

/// One round of federated training, without sockets, processes or files: from the global
/// model, the round's screened updates (in worker-id order) and the engine's state (server
/// optimizer, the aggregator's history, the auditors' histories and CUSUM), it produces the new
/// model and state, the round's record and its events:
///
///     audit → select → aggregate → apply
///
/// (the screen — finite values, bounded norm, one answer per participant with the assigned
/// sample count — is `RoundCollector.offer`, before an update is taken). The coordinator keeps
/// the sockets, liveness and files and calls `run` once per round; tests drive it directly.
public struct RoundEngine {
  public struct Update: Sendable, Equatable {
    public let id: Int
    public let vector: [Float]
    /// Samples behind the update, from the assignment (never from the worker's claim).
    public let samples: Int
    public init(id: Int, vector: [Float], samples: Int) { self.id = id; self.vector = vector; self.samples = samples }
  }

  public struct Settings: Sendable {
    /// 1: updates are gradients (FedSGD), the server steps with `learningRate` and its
    /// optimizer; > 1: updates are model deltas (FedAvg), added with `serverLearningRate`.
    public var localSteps: Int
    public var learningRate: Float
    public var serverLearningRate: Float
    /// Flagged workers' updates stop reaching the aggregator until cleared.
    public var excludeFlagged: Bool
    /// Round accepted updates to this many mantissa bits after audit, before aggregation.
    public var sanitizeMantissaBits: Int?
    /// Seeds the rules' random choices (with the round).
    public var seed: UInt64
    /// DP-FedAvg at the coordinator (user-level DP): see `RoundEngine.privateMean`.
    public var dpFedAvg: DPFedAvg?

    public init(
      localSteps: Int, learningRate: Float, serverLearningRate: Float, excludeFlagged: Bool = false,
      sanitizeMantissaBits: Int? = nil, seed: UInt64, dpFedAvg: DPFedAvg? = nil
    ) {
      self.localSteps = localSteps; self.learningRate = learningRate; self.serverLearningRate = serverLearningRate
      self.excludeFlagged = excludeFlagged; self.sanitizeMantissaBits = sanitizeMantissaBits; self.seed = seed
      self.dpFedAvg = dpFedAvg
    }
  }

  /// DP-FedAvg's settings (McMahan, Ramage, Talwar & Zhang, "Learning Differentially Private
  /// Recurrent Language Models", ICLR 2018): each update is clipped to L2 norm `clip`, the
  /// clipped updates are summed and divided by the expected number of participants (their f̃
  /// estimator with equal weights), and Gaussian noise of standard deviation
  /// noiseMultiplier · clip / expectedParticipants is added to every coordinate.
  public struct DPFedAvg: Sendable, Equatable {
    public var clip: Float
    public var noiseMultiplier: Double
    public var expectedParticipants: Double
    public init(clip: Float, noiseMultiplier: Double, expectedParticipants: Double) {
      self.clip = clip; self.noiseMultiplier = noiseMultiplier; self.expectedParticipants = expectedParticipants
    }
  }

  /// What one round did.
  public struct Record: Sendable {
    /// Worker ids whose update reached the model (empty when the round was skipped).
    public var aggregated: [Int] = []
    /// Each taken update's norm, by worker id.
    public var norms: [String: Double] = [:]
    /// Each aggregated worker's weight, for rules that weight rows.
    public var weights: [String: Double]?
    public var audit: AuditRecord?
    /// Why the model did not change, if it did not.
    public var skipped: String?
    /// Lines for events.log, in order (audit verdicts, a skipped round).
    public var events: [String] = []
  }

  public let settings: Settings
  public private(set) var pipeline: AggregationPipeline
  public private(set) var auditors: [any Auditor]
  public private(set) var cusum: CUSUM
  public private(set) var sgd: SGD

  public init(settings: Settings, pipeline: AggregationPipeline, auditors: [any Auditor], cusum: CUSUM, sgd: SGD) {
    self.settings = settings; self.pipeline = pipeline; self.auditors = auditors; self.cusum = cusum; self.sgd = sgd
  }

  /// Runs round `round` on `updates` (sorted by id), updating `model` in place. `reference` is
  /// FLTrust's root-data update for the current model, computed only when the round aggregates.
  public mutating func run(round: Int, updates: [Update], model: inout [Float], reference: ([Float]) -> [Float]?) -> Record {
    var record = Record()
    guard !updates.isEmpty else {
      return skip(record, "no valid update this round (none arrived before the deadline, or every one was rejected)", round: round)
    }
    let x = UpdateMatrix(updates.map(\.vector), samples: updates.map(\.samples), ids: updates.map(\.id))
    for (id, n) in zip(x.ids, x.norms()) { record.norms[String(id)] = n }
    if !auditors.isEmpty, x.rows >= 2 {
      record.audit = audit(x, round: round, events: &record.events)
    }
    let selected = select(x)
    if selected.isEmpty { return skip(record, "every valid update came from a worker the audit excludes", round: round) }
    if let why = pipeline.problem(n: selected.count) {
      return skip(record, "\(why): only \(selected.count) updates to aggregate this round", round: round)
    }
    if let dp = settings.dpFedAvg {
      apply(Self.privateMean(x, rows: selected, dp, seed: settings.seed, round: round), to: &model)
      record.aggregated = selected.map { x.ids[$0] }
      return record
    }
    do {
      let result = try aggregate(x, rows: selected, round: round, reference: reference(model))
      let ids = selected.map { x.ids[$0] }
      if let w = result.weights { record.weights = Dictionary(uniqueKeysWithValues: zip(ids.map(String.init), w)) }
      apply(result.vector, to: &model)
      record.aggregated = ids
    } catch {
      return skip(record, "aggregation failed: \(error)", round: round)
    }
    return record
  }

  /// A secure-aggregation round: the coordinator knows only `mean`, the sample-weighted mean of
  /// `contributors`' updates (nil with `failure` when the protocol could not finish). No audit or
  /// selection can run on it; the mean is applied as the mean aggregator's output would be.
  public mutating func run(round: Int, mean: [Float]?, contributors: [Int], failure: String?, model: inout [Float]) -> Record {
    guard let mean else { return skip(Record(), failure ?? "no valid update this round", round: round) }
    apply(mean, to: &model)
    return Record(aggregated: contributors)
  }

  func skip(_ r: Record, _ why: String, round: Int) -> Record {
    var r = r
    r.skipped = why
    r.events.append("round \(round + 1): skipped: \(why)")
    return r
  }

  /// Audits every taken update (excluded workers too, so they can be cleared) against the
  /// coordinate-wise median — the verdict must exist before aggregation to exclude — updates
  /// the CUSUM and explains each verdict with its evidence.
  mutating func audit(_ x: UpdateMatrix, round: Int, events: inout [String]) -> AuditRecord {
    let ids = x.ids
    var perAuditor: [String: [String: Double]] = [:]
    var zs: [[Double]] = []
    for k in auditors.indices {
      let z = RobustZ.normalize(auditors[k].scores(x, aggregate: nil))
      zs.append(z)
      perAuditor[auditors[k].name] = Dictionary(uniqueKeysWithValues: zip(ids.map(String.init), z))
    }
    let (newly, cleared, combined) = cusum.update(perAuditor: zs, ids: ids)
    for w in newly {
      let evidence = perAuditor.keys.sorted().map { "\($0)=\(format1(perAuditor[$0]![String(w)]!))" }.joined(separator: " ")
      // Which CUSUM crossed h: the combined one, or a single auditor's.
      let singles = auditors.indices.filter { (cusum.auditorState[$0][w] ?? 0) > cusum.singleH }.map { auditors[$0].name }
      let why =
        singles.isEmpty || cusum.state[w]! > cusum.h
        ? "CUSUM \(format1(cusum.state[w]!)) > \(cusum.h)"
        : "single-auditor CUSUM of \(singles.joined(separator: ", ")) > \(cusum.singleH)"
      events.append(
        "round \(round + 1): audit flags worker \(w) (\(why); z: \(evidence))\(settings.excludeFlagged ? "; excluded from aggregation" : "")"
      )
    }
    for w in cleared { events.append("round \(round + 1): audit clears worker \(w) (CUSUM \(format1(cusum.state[w]!)))") }
    return AuditRecord(
      combined: Dictionary(uniqueKeysWithValues: combined.map { (String($0.key), $0.value) }),
      cusum: Dictionary(uniqueKeysWithValues: ids.map { (String($0), cusum.state[$0] ?? 0) }),
      flagged: cusum.flagged.sorted(), auditors: perAuditor)
  }

  /// The rows that reach the aggregator: all of them, or in exclude mode the unflagged ones.
  func select(_ x: UpdateMatrix) -> [Int] {
    guard settings.excludeFlagged, !auditors.isEmpty else { return Array(0..<x.rows) }
    return (0..<x.rows).filter { !cusum.flagged.contains(x.ids[$0]) }
  }

  /// Sanitises (after audit: the auditors saw what was sent) and aggregates the selected rows.
  mutating func aggregate(_ x: UpdateMatrix, rows: [Int], round: Int, reference: [Float]?) throws -> AggregationResult {
    var m = rows.count == x.rows ? x : x.selecting(rows)
    if let keep = settings.sanitizeMantissaBits { Mantissa.sanitize(&m.data, keep: keep) }
    return try pipeline.run(m, context: RoundContext(round: round, seed: settings.seed, reference: reference))
  }

  /// FedSGD: one server optimizer step along the aggregate gradient. FedAvg: model += rate · delta.
  mutating func apply(_ aggregate: [Float], to model: inout [Float]) {
    if settings.localSteps == 1 {
      sgd.step(&model, gradient: aggregate, learningRate: settings.learningRate)
    } else {
      let s = settings.serverLearningRate
      aggregate.withUnsafeBufferPointer { a in
        model.withUnsafeMutableBufferPointer { p in BLAS.axpy(count: p.count, alpha: s, x: a.baseAddress!, y: p.baseAddress!) }
      }
    }
  }

  // MARK: State across a checkpoint

  /// Everything the engine carries from round to round.
  public var state: EngineState {
    EngineState(velocity: sgd.velocity, aggregator: pipeline.aggregator.state, cusum: cusum.snapshot, auditors: auditors.map(\.state))
  }

  /// Restores a checkpoint's state; throws naming the part that does not fit this run.
  public mutating func restore(_ s: EngineState) throws {
    guard s.velocity.count == sgd.velocity.count else {
      throw EngineStateError("its velocity has \(s.velocity.count) values, expected \(sgd.velocity.count)")
    }
    guard s.auditors.count == auditors.count || (s.auditors.isEmpty && s.cusum.isEmpty) else {
      throw EngineStateError("it holds the state of \(s.auditors.count) auditors, the run has \(auditors.count)")
    }
    sgd.restore(velocity: s.velocity)
    do { try pipeline.aggregator.restore(state: s.aggregator) } catch {
      throw EngineStateError("its aggregator state does not fit \(pipeline.aggregator.name): \(error)")
    }
    if !s.cusum.isEmpty { cusum = try CUSUM(k: cusum.k, h: cusum.h, snapshot: s.cusum) }
    for k in s.auditors.indices { try auditors[k].restore(state: s.auditors[k]) }
  }
}

/// The engine's state in a checkpoint: server momentum, the aggregator's history, the CUSUM
/// (exact Doubles) and each auditor's history, in the run's auditor order.
public struct EngineState: Equatable, Sendable {
  public var velocity: [Float]
  public var aggregator: [Float]
  public var cusum: [Double]
  public var auditors: [[Float]]
  public init(velocity: [Float] = [], aggregator: [Float] = [], cusum: [Double] = [], auditors: [[Float]] = []) {
    self.velocity = velocity; self.aggregator = aggregator; self.cusum = cusum; self.auditors = auditors
  }
}

public struct EngineStateError: Error, CustomStringConvertible {
  public let description: String
  public init(_ d: String) { description = d }
}

/// Audit scores and verdicts of one round: the mean robust z per worker, its CUSUM, the flagged
/// workers, and each auditor's z per worker (keys are worker ids as strings).
public struct AuditRecord: Codable, Equatable, Sendable {
  public var combined: [String: Double]
  public var cusum: [String: Double]
  public var flagged: [Int]
  public var auditors: [String: [String: Double]]
}

func format1(_ v: Double) -> String { String(format: "%.1f", v) }

extension RoundEngine {
  /// DP-FedAvg's noisy clipped mean of the selected rows (see `DPFedAvg`); the noise of round r
  /// comes from (seed, privacyNoise, r), so a run is reproducible.
  ///
  /// Worked example: rows (3, 4) and (0, 1), clip 1, two expected participants, no noise:
  /// (3, 4) is clipped to (0.6, 0.8), (0, 1) stays; the mean is (0.3, 0.9).
  public static func privateMean(_ x: UpdateMatrix, rows: [Int], _ dp: DPFedAvg, seed: UInt64, round: Int) -> [Float] {
    var sum = [Double](repeating: 0, count: x.cols)
    for r in rows {
      let row = x.row(r)
      var norm = 0.0
      for v in row { norm += Double(v) * Double(v) }
      norm = norm.squareRoot()
      let scale = norm > Double(dp.clip) ? Double(dp.clip) / norm : 1
      for j in 0..<x.cols { sum[j] += Double(row[j]) * scale }
    }
    var noise = RandomStream(seed: seed, purpose: .privacyNoise, 0xDF, UInt64(round))
    let std = dp.noiseMultiplier * Double(dp.clip) / dp.expectedParticipants
    return sum.map { Float($0 / dp.expectedParticipants + (std > 0 ? std * noise.nextNormal() : 0)) }
  }
}
