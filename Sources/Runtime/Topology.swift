import Aggregation
import Attacks
import Audit
import Covert
import Data
import Federation
import Learning
import Tensor

/// One experiment, as data: what `topologies/*.toml` describes once validated.
/// Written to the run directory as `topology.json` (the resolved topology).
public struct Topology: Sendable, Codable, Equatable {
  public var name: String
  public var seed: UInt64
  public var rounds: Int
  public var data: DataSettings
  public var model: ModelSpec
  public var training: TrainingSettings
  public var coordinator: CoordinatorSettings
  public var workers: [WorkerGroup]
  public var security: SecuritySettings
  public var audit = AuditSettings()
  /// Logical clients (`clients`, `clients_per_round`, `pool`): the worker groups then count
  /// clients, simulated by a pool of worker processes. Nil: every worker is a process.
  public var clients: ClientSettings?

  /// Participants of the run: workers, or with `clients` the logical clients (ids 0..<count).
  public var workerCount: Int { workers.reduce(0) { $0 + $1.count } }

  /// Worker processes (or threads) the launcher starts: one per worker, or the client pool.
  public var processCount: Int { clients?.pool ?? workerCount }

  /// Updates a round is expected to bring: the workers drawn by sample_fraction, or
  /// clients_per_round.
  public var expectedParticipants: Int {
    if let clients { return clients.perRound }
    let f = coordinator.sampleFraction
    return f < 1 ? max(1, Int((f * Double(workerCount)).rounded())) : workerCount
  }

  /// The configured aggregation pipeline (fresh state).
  /// The round engine of this topology's coordinator: its aggregation pipeline, auditors,
  /// CUSUM and server optimizer (momentum and weight decay apply to FedSGD's server step).
  public func makeEngine(parameterCount: Int) throws -> RoundEngine {
    let fedSGD = training.localSteps == 1
    let declaredF = coordinator.declaredF
    return RoundEngine(
      settings: .init(
        localSteps: training.localSteps, learningRate: training.learningRate, serverLearningRate: coordinator.serverLearningRate,
        excludeFlagged: audit.mode == .exclude, sanitizeMantissaBits: coordinator.sanitizeMantissaBits, seed: seed,
        dpFedAvg: coordinator.dp.map {
          .init(clip: $0.clip, noiseMultiplier: $0.noiseMultiplier, expectedParticipants: Double(expectedParticipants))
        }),
      pipeline: try makePipeline(),
      auditors: coordinator.auditors.compactMap { AuditorRegistry.make($0, f: declaredF) },
      cusum: CUSUM(k: audit.k, h: audit.h),
      sgd: SGD(parameterCount: parameterCount, momentum: fedSGD ? training.momentum : 0, weightDecay: fedSGD ? training.weightDecay : 0))
  }

  public func makePipeline() throws -> AggregationPipeline {
    AggregationPipeline(
      preaggregators: try coordinator.preaggregators.map { try AggregationRegistry.preaggregator($0.name, $0.params) },
      aggregator: try AggregationRegistry.aggregator(coordinator.aggregator.name, coordinator.aggregator.params))
  }

  /// The behaviour of worker `id` (groups are numbered in file order).
  public func behavior(of id: Int) -> String { group(of: id).group.behavior }

  /// Worker `id`'s group, the group's index, and the worker's index inside it.
  public func group(of id: Int) -> (group: WorkerGroup, index: Int, member: Int) {
    var start = 0
    for (k, g) in workers.enumerated() {
      if id < start + g.count { return (g, k, id - start) }
      start += g.count
    }
    preconditionFailure("worker \(id) outside 0..<\(workerCount)")
  }

  /// Whether worker `id` acts maliciously in `round` (its group's schedule and, with resample,
  /// the round's draw of active members). Workers and the hub compute it alike.
  public func isActiveAttacker(_ id: Int, round: Int) -> Bool {
    let (g, k, member) = group(of: id)
    guard g.isAttackRound(round) else { return false }
    guard let active = g.active else { return true }
    var rng = RandomStream(seed: seed, purpose: .attack, 0x5E7, UInt64(k), UInt64(round))
    return rng.permutation(g.count).prefix(active).contains(member)
  }

  /// Ids of the workers of group `k`.
  public func members(ofGroup k: Int) -> [Int] {
    let start = workers.prefix(k).reduce(0) { $0 + $1.count }
    return Array(start..<(start + workers[k].count))
  }

  /// The ground truth: ids of every malicious worker.
  public var maliciousIDs: [Int] { (0..<workerCount).filter { group(of: $0).group.isMalicious } }
  public var hasUpdateAttacks: Bool { workers.contains { $0.hasUpdateAttack } }
  /// Ids of the workers running covert `channel` (any channel when nil).
  public func covertWorkers(_ channel: CovertChannel? = nil) -> [Int] {
    (0..<workerCount).filter { id in group(of: id).group.covertChannel.map { channel == nil || $0 == channel } ?? false }
  }
  /// The first setting that needs image data (its key, and what to use instead), nil when
  /// every part of the topology also works on a table of features.
  public func imageOnlyFeature() throws -> (key: String, why: String)? {
    if model.kind == .cnn { return ("model.kind = \"cnn\"", "a CNN convolves image rows and columns; use logreg or mlp") }
    for (g, group) in workers.enumerated() {
      if let spec = group.dataAttack, try AttackRegistry.data(spec.name, spec.params).needsImages {
        return (
          "workers[\(g)].data_attack = \"\(spec.name)\"",
          "its trigger is written into pixels; on a table use label_flip, targeted_flip or random_labels"
        )
      }
      if let spec = group.covert {
        return ("workers[\(g)].covert = \"\(spec.name)\"", "the covert channels exfiltrate training images (pixels as bytes)")
      }
    }
    if coordinator.watermark != nil { return ("coordinator.watermark_triggers", "WAFFLE's trigger set is a set of images") }
    if training.adversarial != nil { return ("training.adversarial_eps", "PGD keeps its examples in the pixel box [0, 1]") }
    if data.sanitize?.model == "cnn" { return ("data.sanitize.model = \"cnn\"", "the sanitizer's CNN needs images; use logreg or mlp") }
    return nil
  }

  /// Whether a wire eavesdropper runs (the receiver of a mantissa channel).
  public var hasEavesdropper: Bool { !covertWorkers(.mantissa).isEmpty }
  public var leaksHonestUpdates: Bool { workers.contains { $0.hasUpdateAttack && $0.knowledge == .omniscient } }
}

public struct DataSettings: Sendable, Codable, Equatable {
  /// fashion-mnist, idx (an IDX directory) or csv (a table in `file`).
  public var dataset: String = "fashion-mnist"
  public var directory: String = FashionMNIST.defaultDirectory
  /// csv: the table's path, the label column (a header name, or an index: −1 the last), the
  /// share of rows held out for test and the seed of that split (not the run's seed: every
  /// run seed sees the same split). Nil keys (absent from older topology.json files) take the
  /// defaults of `source`.
  public var file: String?
  public var labelColumn: String?
  public var labelIndex: Int?
  public var testFraction: Double?
  public var splitSeed: UInt64?
  public var partition: Partition = .iid
  /// Use only the first N training / test samples (quick runs and tests).
  public var trainLimit: Int?
  public var testLimit: Int?
  /// `long_tail = β`: class i keeps the first ⌊nᵢ·βⁱ⌋ of its samples, in the training and the
  /// test set alike (`Dataset.longTailed`); nil keeps every sample.
  public var longTail: Double?
  /// Ingestion-stage sanitising of every shard (and FLTrust's root) before anyone trains on it.
  public var sanitize: SanitizeSettings?

  /// The training samples a run uses: the first `train_limit`, then the long tail.
  public func training(_ d: Dataset) -> Dataset {
    let limited = trainLimit.map { d.prefix($0) } ?? d
    return longTail.map { limited.longTailed(beta: $0) } ?? limited
  }

  /// The test samples a run evaluates on: the first `test_limit`, then the long tail.
  public func test(_ d: Dataset) -> Dataset {
    let limited = testLimit.map { d.prefix($0) } ?? d
    return longTail.map { limited.longTailed(beta: $0) } ?? limited
  }

  /// Both splits as a run uses them: loaded, then limited and long-tailed.
  public func load() throws -> (train: LoadedSplit, test: LoadedSplit) {
    var (train, test) = try source.load()
    train.dataset = training(train.dataset)
    test.dataset = self.test(test.dataset)
    return (train, test)
  }

  /// The loader of these settings.
  public var source: DataSource {
    DataSource(
      kind: DataSource.Kind(rawValue: dataset) ?? .fashionMNIST, directory: directory, file: file,
      label: labelColumn.map { .name($0) } ?? .index(labelIndex ?? -1), testFraction: testFraction ?? 0.2, splitSeed: splitSeed ?? 0)
  }
}

/// `[data] sanitize = { detectors = [...], epsilon, epochs, folds, model }`: the detectors of
/// `byzsim inspect-data`, run on each shard at prepare time; the union of their flags is dropped.
public struct SanitizeSettings: Sendable, Codable, Equatable {
  public var detectors: [String]
  public var epsilon: Double = 0.05
  public var epochs: Int = 2
  public var folds: Int = 4
  public var model: String = "mlp"
}

public struct TrainingSettings: Sendable, Codable, Equatable {
  public var batchSize: Int = 32
  public var learningRate: Float = 0.05
  public var momentum: Float = 0.9
  public var weightDecay: Float = 0
  /// 1: FedSGD — workers send one mini-batch gradient, the coordinator's SGD (with this
  /// learning rate and momentum) steps the global model. k > 1: FedAvg — workers run k local
  /// SGD steps (local momentum reset each round) and send the model delta.
  public var localSteps: Int = 1
  /// Federated adversarial training (Madry et al. 2018 in every participant's local steps):
  /// each local batch is replaced by its PGD examples before the gradient. Nil: plain training.
  public var adversarial: AdversarialTraining?
  /// DP-SGD in every participant's local steps (sample-level privacy of each worker's shard).
  public var dp: WorkerDP?
}

/// DP-SGD in the workers (`dp_clip`, `dp_noise_multiplier`, `dp_delta` in `[training]`): each
/// local step Poisson-samples the shard at rate batch / shard size, clips per-sample gradients to
/// `clip`, adds N(0, (noiseMultiplier·clip)²) to their sum and divides by the expected batch —
/// `byzsim train --dp`'s step (Abadi et al. 2016 as Opacus implements it). ε is reported for `delta`.
public struct WorkerDP: Sendable, Codable, Equatable {
  public var clip: Float
  public var noiseMultiplier: Double
  public var delta: Double = 1e-5
}

/// The coordinator's watermark (`watermark_triggers`, `watermark_seed`, `watermark_threshold`,
/// `watermark_max_steps` in `[coordinator]`): see `Watermark.ServerRetraining`.
public struct ServerWatermarkSettings: Sendable, Codable, Equatable {
  public var triggers: Int
  public var seed: UInt64
  public var threshold: Double = 0.98
  public var maxSteps: Int = 100
}

/// PGD adversarial training's settings (`adversarial_eps`, `adversarial_steps`,
/// `adversarial_norm` in `[training]`): the step size is 2.5·ε/steps, with a random start.
public struct AdversarialTraining: Sendable, Codable, Equatable {
  public var eps: Float
  public var steps: Int = 7
  public var norm: String = "linf"
}

public struct CoordinatorSettings: Sendable, Codable, Equatable {
  /// The f the aggregator declares (its resolved `f`, 0 for rules without one): the Krum-score
  /// auditor uses the same.
  public var declaredF: Int { Int(aggregator.params["f"] ?? 0) }
  /// "ipc" (sockets in the run directory), "tcp://HOST:PORT", or "inproc" (threads mode).
  public var endpoint: String = "ipc"
  public var roundDeadlineMs: Int = 10_000
  public var evalEvery: Int = 10
  public var sampleFraction: Double = 1
  /// The aggregation rule and its parameters (f, tau, ...); f is the *declared* number of
  /// Byzantine workers, independent of how many workers the topology makes malicious.
  public var aggregator = RuleSpec(name: "mean")
  /// Pre-aggregators applied in order before the aggregator.
  public var preaggregators: [RuleSpec] = []
  /// Updates with a larger Euclidean norm are rejected before aggregation (norm_too_large).
  public var maxUpdateNorm: Double = 1e6
  /// FLTrust: clean training samples the coordinator keeps (removed from the workers' data).
  public var rootDatasetSize: Int = 0
  /// The owner's watermark, embedded by the coordinator (WAFFLE): nil for none.
  public var watermark: ServerWatermarkSettings?
  /// DP-FedAvg (user-level DP) at the coordinator: nil for none.
  public var dp: WorkerDP?
  /// An honest-but-curious coordinator reading workers' batches out of their FedSGD updates
  /// every `curious` rounds (gradient leakage); nil: it does not look.
  public var curiousEvery: Int?
  /// Secure aggregation (Bonawitz et al. 2017): the coordinator sees only the sum of each
  /// round's updates; nil: it sees every update.
  public var secureAggregation: SecureAggregationSettings?
  /// Auditors scoring every update every round (names from `AuditorRegistry`); empty: no audit.
  public var auditors: [String] = []
  /// Mantissa sanitisation: every accepted update is rounded to this many mantissa bits before
  /// aggregation (after audit). Nil: off.
  public var sanitizeMantissaBits: Int?
  /// FedAvg only: global ← global + serverLearningRate · aggregate(deltas).
  public var serverLearningRate: Float = 1
  public var checkpointEvery: Int = 10
  public var heartbeatMs: Int = 250
  /// A worker silent for this long is marked dead.
  public var livenessMs: Int = 3_000
}

/// Logical clients: `clients = N` (the worker groups' counts add up to N), `clients_per_round = K`
/// drawn each round from (seed, round), simulated one after another by `pool` worker processes.
public struct ClientSettings: Sendable, Codable, Equatable {
  public var count: Int
  public var perRound: Int
  /// Worker processes (threads with --threads) that run the sampled clients.
  public var pool: Int
  public init(count: Int, perRound: Int, pool: Int) { self.count = count; self.perRound = perRound; self.pool = pool }
}

/// `secure_aggregation = true` or `secure_aggregation = { threshold = T }` in `[coordinator]`.
public struct SecureAggregationSettings: Sendable, Codable, Equatable {
  /// Shares needed to rebuild a secret; nil: more than half of the round's participants.
  public var threshold: Int?
  public init(threshold: Int? = nil) { self.threshold = threshold }
}

/// A rule name with numeric parameters, e.g. { name = "krum", f = 2 }.
public struct RuleSpec: Sendable, Codable, Equatable, CustomStringConvertible {
  public var name: String
  public var params: [String: Double]
  public init(name: String, params: [String: Double] = [:]) { self.name = name; self.params = params }
  public var description: String {
    params.isEmpty ? name : name + "(" + params.keys.sorted().map { "\($0)=\(params[$0]!.formatted())" }.joined(separator: ", ") + ")"
  }
}

extension Double {
  func formatted() -> String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}

public struct WorkerGroup: Sendable, Codable, Equatable {
  public var count: Int
  /// "honest", or an update attack crafted by the adversary hub (see `AttackRegistry`).
  public var behavior: String = "honest"
  /// The update attack's parameters.
  public var attack: [String: Double] = [:]
  /// A data attack applied to these workers' shards at ingestion.
  public var dataAttack: RuleSpec?
  /// What the update attack may see: its own honest updates, or every honest update.
  public var knowledge: Knowledge = .own
  /// Attack rounds: start_round, start_round + every, ...
  public var startRound: Int = 0
  public var every: Int = 1
  /// Local steps in attack rounds (FedAvg model replacement trains its poisoned model longer).
  public var attackLocalSteps: Int?
  /// A covert exfiltration channel (see `CovertRegistry`); the group otherwise trains honestly.
  /// Parameters are stored with their defaults filled in.
  public var covert: RuleSpec?
  /// A compromised dependency these workers run with (see `TrojanBLAS`); nil: none.
  public var supplyChain: SupplyChainSpec?
  /// Re-sampled malicious set: each round only `active` of the group's workers, drawn from
  /// (seed, group, round), act maliciously; the others behave honestly. Nil: all, every round.
  public var active: Int?

  public init(count: Int, behavior: String = "honest") { self.count = count; self.behavior = behavior }

  public var isMalicious: Bool { behavior != "honest" || dataAttack != nil || covert != nil || supplyChain != nil }
  public var hasUpdateAttack: Bool { behavior != "honest" }
  /// Whether `round` is one of this group's attack rounds (its schedule applies to both kinds).
  public func isAttackRound(_ round: Int) -> Bool { isMalicious && round >= startRound && (round - startRound) % every == 0 }
  /// Whether the update attack runs in `round`.
  public func attacks(round: Int) -> Bool { hasUpdateAttack && isAttackRound(round) }
  /// Whether the worker trains on its poisoned shard in `round` (outside, on its clean shard).
  public func poisons(round: Int) -> Bool { hasPoisonedShard && isAttackRound(round) }
  /// Whether the worker's shard has a poisoned copy (a data attack, or capacity-abuse inputs).
  public var hasPoisonedShard: Bool { dataAttack != nil || covertChannel?.trainsOnAttackShard == true }
  /// The covert channel the group runs, typed (the decoder accepts only registered names).
  public var covertChannel: CovertChannel? { covert.flatMap { CovertChannel(rawValue: $0.name) } }
}

/// What audit verdicts do, and the CUSUM that turns scores into verdicts.
public struct AuditSettings: Sendable, Codable, Equatable {
  public enum Mode: String, Sendable, Codable { case observe, exclude }
  /// observe: flag only; exclude: a flagged worker's updates stop reaching the aggregator until cleared.
  public var mode: Mode = .observe
  public var k: Double = 1
  public var h: Double = 10
}

public struct SecuritySettings: Sendable, Codable, Equatable {
  public var curve: Bool = true
  /// Measured start-up (see `Measurement`); nil in topologies stored before it existed: enforce.
  public var attestation: AttestationMode?
  /// An allowlist file (a `Measurement` as JSON) to check workers against instead of the
  /// launcher's own measurement (workers on other hosts, with another build).
  public var attestationAllowlist: String?
  public var attestationMode: AttestationMode { attestation ?? .enforce }
}

/// The registries the topology decoder reads: what each key may be set to today.
public enum Registry {
  /// Aggregators and pre-aggregators: the Aggregation module's registries.
  public static var aggregators: [String] { AggregationRegistry.aggregators.names }
  public static var preaggregators: [String] { AggregationRegistry.preaggregators.names }
  /// Worker behaviours: honest, or an update attack.
  public static var behaviors: [String] { ["honest"] + AttackRegistry.updateAttacks.map(\.name) }
  public static var dataAttacks: [String] { AttackRegistry.dataAttacks.map(\.name) }
  public static var covertChannels: [String] { CovertRegistry.names }
  public static let datasets = DataSource.Kind.allCases.map(\.rawValue)
  public static let partitions = ["iid", "dirichlet", "shards", "group_bias"]
}
