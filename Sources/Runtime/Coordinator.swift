import Attacks
import Data
import Federation
import Foundation
import Learning
import Privacy
import Tensor
import Transport
import Watermark

/// The coordinator: sockets, liveness and files around the pure round engine. It waits for the
/// workers, then per round broadcasts the model, collects updates until every live participant
/// answered or the deadline passed (`Coordinator+Round`), hands them to the `RoundEngine`,
/// evaluates, appends the round's metrics line and checkpoints.
public final class Coordinator {
  let run: RunDirectory
  let topology: Topology
  let wiring: Wiring
  let context: Context
  let test: Dataset
  let network: Network
  /// Audit → select → aggregate → apply, and the state it carries (optimizer, histories, CUSUM).
  var engine: RoundEngine
  /// FLTrust: the coordinator's clean root dataset and its training procedure.
  let root: LocalTraining?
  /// The owner's watermark, retrained into the global model after every aggregation (WAFFLE).
  let waffle: ServerRetraining?
  let decoder: FrameDecoder
  var workers: [WorkerState]
  var rejections = RejectionCounts()
  var roundRejections = RejectionCounts()
  var zap: ZAPHandler?
  /// Test images that measure a targeted attack's success (triggered non-target images or
  /// source-class images, relabelled to the target): the accuracy on them is the success rate.
  let attackTest: Dataset?
  var firstRound = 0
  /// The model frames of the round being collected, and who takes part: a participant that
  /// (re)joins mid-round is sent them again, so it can still contribute.
  var currentBroadcast: (participants: [Int], frames: [OutgoingFrame])?
  /// Logical clients: this round's client → pool process, and each process's assignment frame
  /// (resent with the model to a process that rejoins mid-round).
  var assignment: [Int: Int] = [:]
  var assignmentFrames: [Int: [OutgoingFrame]] = [:]
  var resumedFrom: Int?
  /// The samples behind each worker's update, derived from what `prepare` assigned (its shard
  /// size, the batch size and the local steps): weights never come from a worker's claim.
  let expectedSamples: [Int]
  /// Each worker's shard size, which its hello must state.
  let shardSamples: [Int]
  /// What `prepare` recorded (for the final model's provenance).
  let manifest: RunManifest
  /// Signs each checkpoint and the final model files (nil: this host lacks the run's key).
  let signer: RunSigner?
  /// Load an unsigned or changed checkpoint anyway, with a warning.
  let allowUnsigned: Bool
  /// Refused connections and frames, logged as they happen.
  let refusals: RefusalLog
  /// The coordinator writes metrics.jsonl and the checkpoint: one writer per run directory,
  /// from before it touches either.
  let lock: DirectoryLock
  var lastHeartbeat = ContinuousClock.now
  /// Called after every round with its metrics (progress display).
  public var onRound: ((RoundMetrics) -> Void)?
  /// Polled while waiting: a reason to stop (threads mode: a worker thread failed to start).
  public var abortReason: (() -> String?)?
  /// Called once the coordinator listens (threads mode starts its workers then).
  public var onListening: (() -> Void)?

  struct WorkerState {
    var routingID: [UInt8]?
    var alive = false
    /// Its measurement was checked and admitted (attesting runs only).
    var attested = false
    /// Refused at start-up (attestation): not waited for.
    var refused = false
    var lastSeen = ContinuousClock.now
  }

  public init(run: RunDirectory, topology: Topology, wiring: Wiring, context: Context, resume: Bool, allowUnsigned: Bool = false) throws {
    self.run = run; self.topology = topology; self.wiring = wiring; self.context = context
    self.allowUnsigned = allowUnsigned
    signer = try RunSigner.load(run)
    lock = try DirectoryLock(directory: run.path, what: "this run directory")
    refusals = RefusalLog(run: run)
    // Everything read here is checked against the manifest `prepare` wrote and signed.
    try RunVerifier.check(try Files.read(run.manifestFile), path: run.manifestFile, run: run, allowUnsigned: allowUnsigned)
    let inputs = try CoordinatorInputs(run: run, topology: topology)
    test = inputs.test
    root = inputs.root
    shardSamples = inputs.manifest.shardSamples
    manifest = inputs.manifest
    network = topology.model.makeNetwork(input: test.shape, classes: test.classes, seed: topology.seed)
    try inputs.check(modelSize: network.parameterCount)
    if let digest = manifest.initModel {
      network.parameters = try ModelReference.initialParameters(
        run: run, digest: digest, spec: topology.model, input: test.shape, classes: test.classes)
    }
    let training = topology.training
    expectedSamples = shardSamples.map { min(training.batchSize, $0) * training.localSteps }
    engine = try topology.makeEngine(parameterCount: network.parameterCount)
    decoder = FrameDecoder(runID: wiring.runID, modelSize: network.parameterCount, workerCount: topology.processCount)
    workers = Array(repeating: WorkerState(), count: topology.processCount)
    attackTest = try Self.attackTestSet(topology, test: test)
    let (shape, classes) = (inputs.test.shape, inputs.test.classes)
    waffle = topology.coordinator.watermark.map { w in
      ServerRetraining(
        triggers: TriggerSet.generate(count: w.triggers, shape: shape, classes: classes, seed: w.seed),
        threshold: w.threshold, maxSteps: w.maxSteps, batchSize: training.batchSize, learningRate: training.learningRate,
        seed: topology.seed)
    }
    if resume { try restoreCheckpoint() }
  }

  /// Continues from the checkpoint, if there is one, and drops the metrics lines of the rounds
  /// it will recompute.
  func restoreCheckpoint() throws {
    if FileManager.default.fileExists(atPath: run.checkpointFile) {
      let bytes = try Files.read(run.checkpointFile)
      try ModelSource.refusePickle(bytes, path: run.checkpointFile)
      try RunVerifier.check(bytes, path: run.checkpointFile, run: run, allowUnsigned: allowUnsigned)
      let cp = try Checkpoint.decode(
        bytes, path: run.checkpointFile,
        expecting: .init(
          runID: wiring.runID, rounds: topology.rounds, parameterCount: network.parameterCount,
          velocityCount: engine.sgd.velocity.count, auditorCount: engine.auditors.count))
      network.parameters = cp.parameters
      do { try engine.restore(cp.engine) } catch {
        throw FileFormatError(path: run.checkpointFile, message: "\(error)")
      }
      firstRound = cp.nextRound
      resumedFrom = cp.nextRound + 1  // the first round run again, numbered from 1
    }
    try truncateMetrics(before: firstRound)
  }

  /// The first targeted data attack of the topology defines the success rate (backdoor and DBA:
  /// the whole trigger on non-target test images; targeted flip: the source class).
  static func attackTestSet(_ topology: Topology, test: Dataset) throws -> Dataset? {
    for g in topology.workers {
      guard let spec = g.dataAttack else { continue }
      let attack = try AttackRegistry.data(spec.name, spec.params, classes: test.classes)
      if let d = AttackSuccess.testSet(for: attack, test: test) { return d }
    }
    return nil
  }

  /// The run's DP guarantees (nil without DP). DP-SGD in the workers: every worker composes
  /// rounds × local_steps private steps at rate batch / its shard size (counted as if it took
  /// part in every round, an upper bound under sampling); the worst worker's ε is reported.
  func privacyGuarantees() throws -> [PrivacyGuarantee]? {
    var out: [PrivacyGuarantee] = []
    if let dp = topology.training.dp {
      let steps = topology.rounds * topology.training.localSteps
      var worst: PrivacyGuarantee?
      for n in Set(shardSamples) {
        let q = DPSGDConfiguration.sampleRate(batchSize: topology.training.batchSize, count: n)
        let (e, order) = try RDPAccountant.epsilon(sampleRate: q, sigma: dp.noiseMultiplier, steps: steps, delta: dp.delta)
        if worst == nil || !e.isFinite || e > (worst!.epsilon ?? .infinity) {
          worst = PrivacyGuarantee(
            mechanism: "dp-sgd", epsilon: e.isFinite ? e : nil, delta: dp.delta, order: order, sampleRate: q, steps: steps,
            noiseMultiplier: dp.noiseMultiplier, clip: Double(dp.clip))
        }
      }
      if let worst { out.append(worst) }
    }
    // DP-FedAvg: one mechanism per round at participation rate expected / workers (accounted
    // as Poisson sampling, as TensorFlow Privacy's DP-FedAvg accounting does).
    if let dp = topology.coordinator.dp {
      let q = Double(topology.expectedParticipants) / Double(topology.workerCount)
      let (e, order) = try RDPAccountant.epsilon(sampleRate: q, sigma: dp.noiseMultiplier, steps: topology.rounds, delta: dp.delta)
      out.append(
        PrivacyGuarantee(
          mechanism: "dp-fedavg", epsilon: e.isFinite ? e : nil, delta: dp.delta, order: order, sampleRate: q, steps: topology.rounds,
          noiseMultiplier: dp.noiseMultiplier, clip: Double(dp.clip)))
    }
    return out.isEmpty ? nil : out
  }

  /// Keeps only the metrics lines of rounds before `round`, a 0-based index (lines number rounds
  /// from 1, so round k's line says k + 1); those after are recomputed.
  func truncateMetrics(before round: Int) throws {
    guard let data = FileManager.default.contents(atPath: run.metricsFile) else { return }
    var kept: [UInt8] = []
    for line in data.split(separator: 0x0A) {
      if let m = try? JSONDecoder.snake.decode(RoundMetrics.self, from: Data(line)), m.round <= round { kept += Array(line) + [0x0A] }
    }
    try Files.writeAtomically(kept, to: run.metricsFile)
  }

  // MARK: The loop

  public func run(startupTimeout: Duration = .seconds(60)) throws -> RunSummary {
    let started = ContinuousClock.now
    let socket = try openRouter()
    onListening?()
    let leak = try openLeak()
    let metrics = try MetricsLog(path: run.metricsFile)
    defer { refusals.flush() }
    try awaitWorkers(socket, timeout: startupTimeout)
    var progress = Progress()
    for round in firstRound..<topology.rounds {
      let m = try runRound(round, socket: socket, leak: leak, progress: &progress)
      try metrics.append(Array(try JSONEncoder.snake().encode(m)), resumeHint: "byzsim run --resume \(run.path)")
      // After the round's line: a kill between the two leaves a line that resume recomputes.
      if (round + 1) % topology.coordinator.checkpointEvery == 0 || round == topology.rounds - 1 {
        let checkpoint = Checkpoint(nextRound: round + 1, parameters: network.parameters, engine: engine.state)
        try write(checkpoint.encoded(runID: wiring.runID), to: run.checkpointFile)
      }
      progress.roundTimes.append(m.timing.roundMs)
      onRound?(m)
    }
    try finish(socket, leak: leak)
    let final = progress.evaluation ?? network.evaluate(test)
    return RunSummary(
      runDir: run.path, mode: "", rounds: topology.rounds, testAccuracy: final.accuracy, testLoss: final.loss,
      msPerRound: progress.roundTimes.isEmpty ? 0 : progress.roundTimes.reduce(0, +) / Double(progress.roundTimes.count),
      workersAlive: workers.filter(\.alive).count, rejectedFrames: rejections.named,
      attackSuccessRate: attackTest.map { progress.successRate ?? network.evaluate($0).accuracy },
      watermarkAccuracy: waffle?.accuracy(network), dp: try privacyGuarantees(), resumedFromRound: resumedFrom,
      seconds: (ContinuousClock.now - started).seconds)
  }

  /// What the loop carries between rounds: the last evaluation and the round times.
  struct Progress {
    var evaluation: Evaluation?
    var successRate: Double?
    var roundTimes: [Double] = []
  }

  /// Waits for every worker to join (a deterministic start), or for the startup timeout.
  func awaitWorkers(_ socket: Socket, timeout: Duration) throws {
    let deadline = ContinuousClock.now + timeout
    while workers.contains(where: { !$0.alive && !$0.refused }), ContinuousClock.now < deadline {
      try pump(socket, until: min(deadline, ContinuousClock.now + .milliseconds(topology.coordinator.heartbeatMs)), round: firstRound) {
        _, _ in
      }
    }
    if let why = abortReason?() { throw RuntimeError(why) }
    let joined = workers.filter(\.alive).count
    if joined == 0, workers.allSatisfy(\.refused) {
      throw RuntimeError(
        "every worker was refused at start-up: their measurements depart from the expected one (see \(run.file("events.log")) and attestations.jsonl)"
      )
    }
    guard joined > 0 else { throw RuntimeError("no worker joined within \(timeout) at \(wiring.endpoint)") }
    if joined < workers.count { run.logEvent("starting with \(joined) of \(workers.count) workers") }
  }

  /// Tells everyone to stop, then writes the final model.
  func finish(_ socket: Socket, leak: Socket?) throws {
    let bye = FrameHeader(type: .shutdown, runID: wiring.runID, round: UInt32(topology.rounds), sender: FrameHeader.coordinatorID)
    for w in workers.indices where workers[w].alive { sendTo(socket, w, [.bytes(bye.encoded())]) }
    if topology.hasUpdateAttacks {
      // Behind leaked updates still queued for a hub on another host, the bye must not be
      // dropped at close: the context's end waits up to 2 s for it.
      do {
        let line = try leak ?? openHubLine()
        try line.setLinger(milliseconds: 2000)
        try line.send([.bytes(bye.encoded())], dontWait: true)
      } catch {
        run.logEvent("the adversary hub was not told to stop (\(error)); it stops when its run ends")
      }
    }
    try write(ModelFile.encoded(network.parameters), to: run.modelFile)
    try write(
      try RunExport.safetensors(run, topology: topology, manifest: manifest, parameters: network.parameters, round: topology.rounds),
      to: run.safetensorsFile)
  }

  /// Writes one of the coordinator's files, signed when this host holds the run's key.
  func write(_ bytes: [UInt8], to path: String) throws {
    if let signer { try signer.write(bytes, to: path) } else { try Files.writeAtomically(bytes, to: path) }
  }
}

/// What the coordinator reads from its run directory, each checked against the manifest: the
/// test set (data file digests), the shard sizes, FLTrust's root dataset.
struct CoordinatorInputs {
  let manifest: RunManifest
  let test: Dataset
  let root: LocalTraining?
  let run: RunDirectory
  let topology: Topology

  init(run: RunDirectory, topology: Topology) throws {
    self.run = run; self.topology = topology
    manifest = try run.loadManifest()
    let loaded = try topology.data.source.loadTest()
    try Integrity.check(dataFiles: loaded.files, manifest: manifest, manifestPath: run.manifestFile)
    test = topology.data.test(loaded.dataset)
    guard topology.coordinator.rootDatasetSize > 0 else { root = nil; return }
    guard let digest = manifest.rootShard else {
      throw FileFormatError(path: run.manifestFile, message: "records no root dataset, which root_dataset_size needs")
    }
    let bytes = try Files.read(run.rootShardFile)
    try Integrity.check(bytes, path: run.rootShardFile, expected: digest, what: "FLTrust's root dataset")
    root = LocalTraining(data: try ShardFile.decodeCompact(bytes, path: run.rootShardFile), topology: topology, stream: UInt64.max - 1)
  }

  /// The manifest must describe this run's model and workers.
  func check(modelSize: Int) throws {
    // Logical clients have no shard files: their sizes alone are recorded.
    let files = topology.clients == nil ? topology.workerCount : 0
    guard manifest.modelParameters == modelSize, manifest.shardSamples.count == topology.workerCount, manifest.shards.count == files
    else {
      throw FileFormatError(
        path: run.manifestFile,
        message: "does not describe this run's model and workers "
          + "(\(manifest.modelParameters) parameters, \(manifest.shardSamples.count) shards; the topology needs \(modelSize) and \(topology.workerCount))"
      )
    }
  }
}
