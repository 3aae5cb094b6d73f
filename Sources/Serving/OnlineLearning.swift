import Aggregation
import Artifacts
import Audit
import Data
import Foundation
import Learning
import Runtime
import Synchronization
import Tensor

/// `[online]` (with `[feedback]`): the served model retrains on the labels fed back, as a
/// fraud or spam model does in production — and so can be poisoned through them.
public struct OnlineConfig: Sendable, Equatable {
  /// Retrain after this many new labels.
  public var every = 500
  public var epochs = 1
  public var learningRate = 0.05
  public var batch = 32
  /// Labels per chunk: each chunk's update is one input row of the aggregator.
  public var chunk = 50
  /// The rule that combines the chunks' updates (the project's aggregators; "mean" is plain
  /// fine-tuning on the whole batch, chunk by chunk).
  public var aggregator = RuleSpec(name: "mean")
  /// Auditors over the chunks' updates (the training core's): a feedback source they flag
  /// (its CUSUM of robust z-scores over retrainings above h) has its chunks left out.
  public var auditors: [String] = []

  public init() {}

  static func decode(_ t: inout TableReader) throws -> OnlineConfig {
    var o = OnlineConfig()
    o.every = try t.int("every", default: o.every) { (1...10_000_000).contains($0) ? nil : "1 to 10000000 labels" }
    o.epochs = try t.int("epochs", default: o.epochs) { (1...100).contains($0) ? nil : "1 to 100 epochs" }
    o.learningRate = try t.double("learning_rate", default: o.learningRate) { $0 > 0 && $0 <= 10 ? nil : "a rate in (0, 10]" }
    o.batch = try t.int("batch", default: o.batch) { (1...100_000).contains($0) ? nil : "1 to 100000 samples" }
    o.chunk = try t.int("chunk", default: o.chunk) { (1...10_000_000).contains($0) ? nil : "1 to 10000000 labels" }
    o.aggregator = try t.resolve(
      AggregationRegistry.aggregators, try t.rule("aggregator", default: o.aggregator, known: Registry.aggregators), key: "aggregator")
    if t.table["auditors"] != nil {
      let known = AuditorRegistry.names
      o.auditors = try t.stringArray("auditors") { known.contains($0) ? nil : "auditors among \(known.joined(separator: ", "))" }
    }
    return o
  }
}

/// Retrains the served model on labelled feedback. The labels are grouped by the credential
/// that sent them (sorted by id, each in arrival order) and cut into chunks of `chunk`; from the
/// served parameters, each chunk trains its own copy (`epochs` of SGD in minibatches of
/// `batch`, seeded), and the chunks' updates (trained − served) are combined by the configured
/// aggregator and added to the served parameters — the federated round of the training core,
/// with feedback sources as participants, so a robust rule (median, trimmed mean, …) can
/// outvote a source that feeds poisoned labels. With `auditors`, each chunk's update is scored
/// by them (robust z per retraining, against the chunks' coordinate-wise median), a source's z is
/// the mean over its chunks, and the training core's verdict CUSUM (k = 1, h = 10) over
/// retrainings flags a source — whose chunks are then left out until it is cleared. It runs
/// inside the `POST /v1/feedback` that
/// completes a batch, so the same requests in the same order give the same models.
public final class OnlineLearner: Sendable {
  public let config: OnlineConfig
  let seed: UInt64
  struct State {
    var retrains = 0
    var lastError: String?
    var verdicts = Audit.CUSUM()
    /// Feedback sources by first appearance (their ids for the verdicts).
    var sources: [String: Int] = [:]
    var excludedLabels = 0
  }
  let state = Mutex(State())
  /// Held for a whole retraining and model swap (`ServingCore`).
  let serial = Mutex(())

  public init(config: OnlineConfig, seed: UInt64) {
    self.config = config
    self.seed = seed
  }

  public var retrains: Int { state.withLock { $0.retrains } }

  /// The feedback sources the auditors flag now, and the labels left out so far.
  public var flagged: (sources: [String], excludedLabels: Int) {
    state.withLock { s in
      (s.sources.filter { s.verdicts.flagged.contains($0.value) }.map(\.key).sorted(), s.excludedLabels)
    }
  }

  /// The parameters after one retraining of `model` on `labelled`.
  func retrain(_ model: LoadedModel, on labelled: [Feedback.Labelled]) throws -> [Float] {
    let sources = Dictionary(grouping: labelled, by: \.credential).sorted { $0.key < $1.key }
    var chunks: [[Feedback.Labelled]] = []
    for (_, items) in sources {
      for start in stride(from: 0, to: items.count, by: config.chunk) {
        chunks.append(Array(items[start..<min(items.count, start + config.chunk)]))
      }
    }
    let d = model.parameters.count
    var rows: [Float] = []
    rows.reserveCapacity(chunks.count * d)
    var samples: [Int] = []
    let round = state.withLock { $0.retrains }
    for (k, chunk) in chunks.enumerated() {
      let network = model.spec.makeNetwork(input: model.input, classes: model.classes, seed: 0)
      network.parameters = model.parameters
      let trainer = Trainer(
        network: network,
        configuration: TrainingConfiguration(
          epochs: config.epochs, batchSize: config.batch, schedule: LearningRateSchedule(base: Float(config.learningRate)),
          seed: seed &+ UInt64(round) &* 1_000_003 &+ UInt64(k)))
      let data = Dataset(
        features: chunk.flatMap(\.input), labels: chunk.map { Int32($0.label) }, shape: model.input, classes: model.classes)
      _ = trainer.fit(data)
      rows += zip(network.parameters, model.parameters).map { $0 - $1 }
      samples.append(chunk.count)
    }
    var keep = Array(chunks.indices)
    if !config.auditors.isEmpty && chunks.count > 1 {
      keep = try audit(chunks, rows: rows, d: d, round: round)
      guard !keep.isEmpty else {
        throw RuntimeError("[online] the auditors flag every feedback source this round: nothing is learned, the model is kept")
      }
    }
    let kept = keep.count == chunks.count ? rows : keep.flatMap { rows[($0 * d)..<(($0 + 1) * d)] }
    var rule = try AggregationRegistry.aggregator(config.aggregator.name, config.aggregator.params)
    if let why = rule.problem(n: keep.count) {
      throw RuntimeError("[online] \(config.aggregator): \(why) (\(keep.count) chunk(s) of feedback this round)")
    }
    let update = try rule.aggregate(
      UpdateMatrix(rows: keep.count, cols: d, data: kept, samples: keep.map { samples[$0] }),
      context: RoundContext(round: round, seed: seed))
    guard update.vector.allSatisfy(\.isFinite) else {
      throw RuntimeError("[online] the aggregated update is not finite; the model is kept")
    }
    state.withLock { $0.retrains += 1 }
    return zip(model.parameters, update.vector).map { $0 + $1 }
  }

  /// Scores the chunks, updates the sources' verdicts, and returns the chunks to keep.
  func audit(_ chunks: [[Feedback.Labelled]], rows: [Float], d: Int, round: Int) throws -> [Int] {
    let ids: [Int] = state.withLock { s in
      chunks.map { c in
        let name = c[0].credential
        if let id = s.sources[name] { return id }
        s.sources[name] = s.sources.count
        return s.sources.count - 1
      }
    }
    let x = UpdateMatrix(rows: chunks.count, cols: d, data: rows, ids: ids)
    var median = try AggregationRegistry.aggregator("median", [:])
    let center = try median.aggregate(x, context: RoundContext(round: round, seed: seed)).vector
    var perChunk = [Double](repeating: 0, count: chunks.count)
    for name in config.auditors {
      guard var auditor = AuditorRegistry.make(name) else { throw RuntimeError("[online] unknown auditor \(name)") }
      let z = RobustZ.normalize(auditor.scores(x, aggregate: center))
      for i in perChunk.indices { perChunk[i] += min(10, max(-5, z[i])) / Double(config.auditors.count) }
    }
    var bySource: [Int: (Double, Int)] = [:]
    for (i, id) in ids.enumerated() {
      bySource[id, default: (0, 0)] = (bySource[id, default: (0, 0)].0 + perChunk[i], bySource[id, default: (0, 0)].1 + 1)
    }
    return state.withLock { s in
      s.verdicts.update(bySource.mapValues { $0.0 / Double($0.1) })
      let keep = ids.indices.filter { !s.verdicts.flagged.contains(ids[$0]) }
      s.excludedLabels += ids.indices.filter { s.verdicts.flagged.contains(ids[$0]) }.reduce(0) { $0 + chunks[$1].count }
      return keep
    }
  }

  func failed(_ message: String) { state.withLock { $0.lastError = message } }
  public var lastError: String? { state.withLock { $0.lastError } }
}
