import Aggregation
import Attacks
import Audit
import Covert
import Data
import Foundation
import Learning
import Tensor
import Transport

/// The coordinator's loop: wait for the workers, then per round broadcast the model, collect
/// updates until every live participant answered or the deadline passed, validate them,
/// aggregate in worker-id order, step the global model, evaluate, log, checkpoint.
public final class Coordinator {
  let run: RunDirectory
  let topology: Topology
  let wiring: Wiring
  let context: Context
  let test: Dataset
  let network: Network
  var sgd: SGD
  var pipeline: AggregationPipeline
  /// FLTrust: the coordinator's clean root dataset and its training procedure.
  let root: LocalTraining?
  let decoder: FrameDecoder
  var workers: [WorkerState]
  var rejections = RejectionCounts()
  var roundRejections = RejectionCounts()
  var zap: ZAPHandler?
  /// Test images that measure a targeted attack's success (triggered non-target images or
  /// source-class images, relabelled to the target): the accuracy on them is the success rate.
  let attackTest: Dataset?
  /// Auditors and the CUSUM that turns their scores into verdicts (topology: coordinator.auditors, [audit]).
  var auditors: [any Auditor]
  var cusum: CUSUM
  var firstRound = 0
  /// The model frames of the round being collected, and who takes part: a participant that
  /// (re)joins mid-round is sent them again, so it can still contribute.
  var currentBroadcast: (participants: [Int], frames: [OutgoingFrame])?
  var resumedFrom: Int?
  /// The samples behind each worker's update, derived from what `prepare` assigned (its shard
  /// size, the batch size and the local steps): weights never come from a worker's claim.
  let expectedSamples: [Int]
  /// Each worker's shard size, which its hello must state.
  let shardSamples: [Int]
  /// Refused connections and frames, logged as they happen.
  let refusals: RefusalLog
  /// The coordinator writes metrics.jsonl and the checkpoint: one writer per run directory,
  /// from before it touches either.
  let lock: DirectoryLock
  /// Called after every round with its metrics (progress display).
  public var onRound: ((RoundMetrics) -> Void)?
  /// Polled while waiting: a reason to stop (threads mode: a worker thread failed to start).
  public var abortReason: (() -> String?)?

  struct WorkerState {
    var routingID: [UInt8]?
    var alive = false
    var lastSeen = ContinuousClock.now
  }

  public init(run: RunDirectory, topology: Topology, wiring: Wiring, context: Context, resume: Bool) throws {
    self.run = run; self.topology = topology; self.wiring = wiring; self.context = context
    lock = try DirectoryLock(directory: run.path, what: "this run directory")
    refusals = RefusalLog(run: run)
    // Everything read here is checked against the manifest `prepare` wrote.
    let manifest = try run.loadManifest()
    let loaded = try FashionMNIST.load(.test, directory: topology.data.directory)
    try Integrity.check(dataFiles: loaded.files, manifest: manifest, manifestPath: run.manifestFile)
    var testSet = loaded.dataset
    if let n = topology.data.testLimit { testSet = testSet.prefix(n) }
    test = testSet
    network = topology.model.makeNetwork(input: test.shape, classes: test.classes, seed: topology.seed)
    guard manifest.modelParameters == network.parameterCount, manifest.shardSamples.count == topology.workerCount,
          manifest.shards.count == topology.workerCount else {
      throw FileFormatError(path: run.manifestFile, message: "does not describe this run's model and workers "
        + "(\(manifest.modelParameters) parameters, \(manifest.shardSamples.count) shards; the topology needs \(network.parameterCount) and \(topology.workerCount))")
    }
    shardSamples = manifest.shardSamples
    let training = topology.training
    expectedSamples = manifest.shardSamples.map { min(training.batchSize, $0) * training.localSteps }
    sgd = SGD(parameterCount: network.parameterCount, momentum: topology.training.localSteps == 1 ? topology.training.momentum : 0,
              weightDecay: topology.training.localSteps == 1 ? topology.training.weightDecay : 0)
    decoder = FrameDecoder(runID: wiring.runID, modelSize: network.parameterCount, workerCount: topology.workerCount)
    workers = Array(repeating: WorkerState(), count: topology.workerCount)
    pipeline = try topology.makePipeline()
    attackTest = try Self.attackTestSet(topology, test: testSet)
    let declaredF = Int(topology.coordinator.aggregator.params["f"] ?? 0)
    auditors = topology.coordinator.auditors.compactMap { AuditorRegistry.make($0, f: declaredF) }
    cusum = CUSUM(k: topology.audit.k, h: topology.audit.h)
    if topology.coordinator.rootDatasetSize > 0 {
      guard let digest = manifest.rootShard else { throw FileFormatError(path: run.manifestFile, message: "records no root dataset, which root_dataset_size needs") }
      let bytes = try Files.read(run.rootShardFile)
      try Integrity.check(bytes, path: run.rootShardFile, expected: digest, what: "FLTrust's root dataset")
      let data = try ShardFile.decodeCompact(bytes, path: run.rootShardFile)
      root = LocalTraining(data: data, topology: topology, stream: UInt64.max - 1)
    } else {
      root = nil
    }
    if resume, FileManager.default.fileExists(atPath: run.checkpointFile) {
      let cp = try Checkpoint.read(run.checkpointFile, expecting: .init(
        runID: wiring.runID, rounds: topology.rounds, parameterCount: network.parameterCount, velocityCount: sgd.velocity.count))
      network.parameters = cp.parameters
      sgd.restore(velocity: cp.velocity)
      do {
        try pipeline.aggregator.restore(state: cp.aggregatorState)
      } catch {
        throw FileFormatError(path: run.checkpointFile, message: "its aggregator state does not fit \(topology.coordinator.aggregator.name): \(error)")
      }
      firstRound = cp.nextRound
      resumedFrom = cp.nextRound
    }
    if resume { try truncateMetrics(before: firstRound) }
  }

  /// The first targeted data attack of the topology defines the success rate (backdoor and DBA:
  /// the whole trigger on non-target test images; targeted flip: the source class).
  static func attackTestSet(_ topology: Topology, test: Dataset) throws -> Dataset? {
    for g in topology.workers {
      guard let spec = g.dataAttack else { continue }
      let attack = try AttackRegistry.data(spec.name, spec.params, classes: test.classes)
      var d: Dataset
      let target: Int
      if let b = attack as? Backdoor { d = b.trigger.triggeredTestSet(test, target: b.target); target = b.target }
      else if let b = attack as? DBA { d = b.trigger.triggeredTestSet(test, target: b.target); target = b.target }
      else if let t = attack as? TargetedFlip { d = test.subset((0..<test.count).filter { Int(test.labels[$0]) == t.source }); target = t.target }
      else { continue }
      d.labels = [Int32](repeating: Int32(target), count: d.count)
      return d
    }
    return nil
  }

  /// Keeps only the metrics lines of rounds before `round` (those after are recomputed).
  func truncateMetrics(before round: Int) throws {
    guard let data = FileManager.default.contents(atPath: run.metricsFile) else { return }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    var kept: [UInt8] = []
    for line in data.split(separator: 0x0A) {
      if let m = try? decoder.decode(RoundMetrics.self, from: Data(line)), m.round < round { kept += Array(line) + [0x0A] }
    }
    try Files.writeAtomically(kept, to: run.metricsFile)
  }

  // MARK: The loop

  public func run(startupTimeout: Duration = .seconds(60)) throws -> RunSummary {
    let started = ContinuousClock.now
    if wiring.curve {
      var allowed: [String: String] = [:]
      for (id, key) in wiring.workerPublicKeys { allowed[key] = String(id) }
      let refusals = self.refusals
      zap = try ZAPHandler(context: context, allowed: allowed) { r in
        refusals.record(peer: r.address + " " + r.publicKey,
                        what: "refused connection from \(r.address.isEmpty ? "a local peer" : r.address): key \(r.publicKey.isEmpty ? "(none)" : r.publicKey) not in this run")
      }
    } else {
      run.logEvent("WARNING: security.curve = false: traffic is unencrypted and worker ids are not authenticated")
    }
    let socket = try Socket(context, .router)
    try socket.setRouterMandatory()
    // Nothing larger than an update is read from anyone, authenticated or not.
    try socket.setMaxMessageSize(wiring.maxMessageSize)
    if wiring.curve, let keys = wiring.ownKeys {
      try socket.makeCurveServer(keys)
      // Connections that fail before the ZAP handler sees a key (no CURVE, a bad vouch).
      let refusals = self.refusals
      _ = try SocketMonitor(socket, context: context, name: "coordinator") { e in
        refusals.record(peer: e.endpoint, what: "refused connection at \(e.endpoint): \(e.reason)")
      }
    }
    try socket.bind(wiring.endpoint)
    // Omniscient attacks: a leak to the adversary hub (a simulation device, not part of the defence).
    var leak: Socket?
    if topology.leaksHonestUpdates {
      let l = try Socket(context, .dealer)
      try l.setMaxMessageSize(wiring.maxMessageSize)
      if wiring.curve, let keys = wiring.ownKeys, let hubKey = wiring.hubPublicKey { try l.makeCurveClient(keys, serverKey: hubKey) }
      try l.connect(wiring.hubEndpoint)
      leak = l
    }
    let metrics = try MetricsLog(path: run.metricsFile)
    defer { refusals.flush() }

    // Wait for every worker to join (a deterministic start), or for the startup timeout.
    let joinDeadline = ContinuousClock.now + startupTimeout
    while workers.contains(where: { !$0.alive }), ContinuousClock.now < joinDeadline {
      try pump(socket, until: min(joinDeadline, ContinuousClock.now + .milliseconds(topology.coordinator.heartbeatMs)), round: firstRound) { _, _ in }
    }
    let joined = workers.filter(\.alive).count
    if let why = abortReason?() { throw RuntimeError(why) }
    guard joined > 0 else { throw RuntimeError("no worker joined within \(startupTimeout) at \(wiring.endpoint)") }
    if joined < workers.count { run.logEvent("starting with \(joined) of \(workers.count) workers") }

    var lastEvaluation: Evaluation?
    var lastSuccessRate: Double?
    var roundTimes: [Double] = []
    for round in firstRound..<topology.rounds {
      let t0 = ContinuousClock.now
      roundRejections = RejectionCounts()
      let participants = selectParticipants(round: round)
      let model = FloatBuffer(network.parameters)
      let header = FrameHeader(type: .model, dtype: .float32, runID: wiring.runID, round: UInt32(round),
                               sender: FrameHeader.coordinatorID, count: UInt32(model.count))
      currentBroadcast = (participants, [.bytes(header.encoded()), .floats(model)])
      if let leak {
        let roster = FrameHeader(type: .roster, dtype: .float32, runID: wiring.runID, round: UInt32(round),
                                 sender: FrameHeader.coordinatorID, count: UInt32(participants.count))
        try? leak.send([.bytes(roster.encoded()), .floats(FloatBuffer(participants.map(Float.init)))], dontWait: true)
      }
      for w in participants { sendTo(socket, w, currentBroadcast!.frames) }

      // Collect.
      var received: [Int: [Float]] = [:]
      // Participants whose update for this round arrived but was rejected for its content: they
      // answered (the round need not wait for them), their update is simply not aggregated.
      var refused: Set<Int> = []
      let deadline = t0 + .milliseconds(topology.coordinator.roundDeadlineMs)
      while ContinuousClock.now < deadline {
        let waiting = participants.filter { received[$0] == nil && !refused.contains($0) && workers[$0].alive }
        if waiting.isEmpty { break }
        try pump(socket, until: min(deadline, ContinuousClock.now + .milliseconds(topology.coordinator.heartbeatMs)), round: round) { h, payload in
          let w = Int(h.sender)
          guard participants.contains(w) else { return reject(.unexpectedType) }
          guard h.round == UInt32(round) else { return reject(h.round < UInt32(round) ? (h.round + 1 == UInt32(round) ? .late : .staleRound) : .futureRound) }
          guard received[w] == nil, !refused.contains(w) else { return reject(.duplicate) }
          // The claimed sample count must be what the coordinator assigned: weights come from
          // the assignment, and a differing claim is refused, never believed.
          guard Int(h.aux) == expectedSamples[w] else {
            refused.insert(w)
            refusals.record(peer: "worker \(w)", what: "round \(round): worker \(w) claimed \(h.aux) samples, assigned \(expectedSamples[w]): update refused (sample_count_mismatch)")
            return reject(.sampleCountMismatch)
          }
          if let why = UpdateScreen.problem(payload, maxNorm: topology.coordinator.maxUpdateNorm) {
            refused.insert(w)
            return reject(why == .nonFinite ? .nonFinite : .normTooLarge)
          }
          received[w] = payload
          if let leak {
            let fwd = FrameHeader(type: .update, dtype: .float32, runID: wiring.runID, round: UInt32(round),
                                  sender: FrameHeader.coordinatorID, count: UInt32(payload.count), aux: UInt32(w))
            try? leak.send([.bytes(fwd.encoded()), .floats(FloatBuffer(payload))], dontWait: true)
          }
        }
      }
      currentBroadcast = nil
      let t1 = ContinuousClock.now

      // One n×d matrix of the round's valid updates, in worker-id order (never arrival order).
      let ids = received.keys.sorted()
      let matrix = ids.isEmpty ? nil : UpdateMatrix(ids.map { received[$0]! }, samples: ids.map { expectedSamples[$0] }, ids: ids)
      var norms: [String: Double] = [:]
      if let matrix { for (w, n) in zip(ids, matrix.norms()) { norms[String(w)] = n } }
      var skipped: String?
      var weights: [String: Double]?
      var audit: RoundMetrics.Audit?
      var aggregatedIDs = ids
      if let matrix, !auditors.isEmpty, ids.count >= 2 {
        audit = self.audit(matrix, round: round)
        if topology.audit.mode == .exclude { aggregatedIDs = ids.filter { !cusum.flagged.contains($0) } }
      }
      if aggregatedIDs.isEmpty && !ids.isEmpty {
        skipped = "every valid update came from a worker the audit excludes"
      } else if ids.isEmpty {
        skipped = "no valid update this round (none arrived before the deadline, or every one was rejected)"
      } else if let why = pipeline.problem(n: aggregatedIDs.count) {
        skipped = "\(why): only \(aggregatedIDs.count) updates to aggregate this round"
      } else if let matrix {
        let ids = aggregatedIDs
        var x = ids.count == matrix.rows ? matrix : matrix.selecting(ids.map { matrix.ids.firstIndex(of: $0)! })
        if let keep = topology.coordinator.sanitizeMantissaBits {
          // After audit (the auditors see what was sent), before aggregation: no hidden low bit
          // reaches the model.
          Mantissa.sanitize(&x.data, keep: keep)
        }
        let context = RoundContext(round: round, seed: topology.seed,
                                   reference: root?.update(model: network.parameters, round: round).vector)
        do {
          let result = try pipeline.run(x, context: context)
          if let w = result.weights { weights = Dictionary(uniqueKeysWithValues: zip(ids.map(String.init), w)) }
          applyAggregate(result.vector)
        } catch {
          skipped = "aggregation failed: \(error)"
        }
      }
      if let skipped { run.logEvent("round \(round): skipped: \(skipped)") }
      let t2 = ContinuousClock.now
      var evaluation: Evaluation?
      var successRate: Double?
      if (round + 1) % topology.coordinator.evalEvery == 0 || round == topology.rounds - 1 {
        evaluation = network.evaluate(test)
        lastEvaluation = evaluation
        if let attackTest, attackTest.count > 0 { successRate = network.evaluate(attackTest).accuracy; lastSuccessRate = successRate }
      }
      let t3 = ContinuousClock.now
      let ms = { (a: ContinuousClock.Instant, b: ContinuousClock.Instant) in (b - a).seconds * 1000 }
      let roundMetrics = RoundMetrics(
        round: round, participants: participants, aggregated: skipped == nil ? aggregatedIDs : [], workersAlive: workers.filter(\.alive).count,
        testAccuracy: evaluation?.accuracy, testLoss: evaluation?.loss, updateNorms: norms,
        rejected: roundRejections.named, attackSuccessRate: successRate, weights: weights, audit: audit, skipped: skipped,
        timing: .init(roundMs: ms(t0, ContinuousClock.now), collectMs: ms(t0, t1), aggregateMs: ms(t1, t2), evalMs: ms(t2, t3)))
      try metrics.append(Array(try JSONEncoder.snake().encode(roundMetrics)), resumeHint: "byzsim run --resume \(run.path)")
      // After the round's line: a kill between the two leaves a line that resume recomputes.
      if (round + 1) % topology.coordinator.checkpointEvery == 0 || round == topology.rounds - 1 {
        try Checkpoint(nextRound: round + 1, parameters: network.parameters, velocity: sgd.velocity,
                       aggregatorState: pipeline.aggregator.state).write(to: run.checkpointFile, runID: wiring.runID)
      }
      roundTimes.append(roundMetrics.timing.roundMs)
      onRound?(roundMetrics)
    }

    // Tell everyone to stop, then write the model and the summary.
    let bye = FrameHeader(type: .shutdown, runID: wiring.runID, round: UInt32(topology.rounds), sender: FrameHeader.coordinatorID)
    for w in workers.indices where workers[w].alive { sendTo(socket, w, [.bytes(bye.encoded())]) }
    try? leak?.send([.bytes(bye.encoded())], dontWait: true)
    try ModelFile.write(network.parameters, to: run.modelFile)
    let final = lastEvaluation ?? network.evaluate(test)
    let summary = RunSummary(
      runDir: run.path, mode: "", rounds: topology.rounds, testAccuracy: final.accuracy, testLoss: final.loss,
      msPerRound: roundTimes.isEmpty ? 0 : roundTimes.reduce(0, +) / Double(roundTimes.count),
      workersAlive: workers.filter(\.alive).count, rejectedFrames: rejections.named,
      attackSuccessRate: attackTest == nil ? nil : (lastSuccessRate ?? network.evaluate(attackTest!).accuracy),
      resumedFromRound: resumedFrom, seconds: (ContinuousClock.now - started).seconds)
    return summary
  }

  /// Audits every valid update of the round (excluded workers too, so they can be cleared)
  /// against the coordinate-wise median — the verdict must exist before aggregation to exclude —
  /// updates the CUSUM and logs each decision with its evidence.
  func audit(_ x: UpdateMatrix, round: Int) -> RoundMetrics.Audit {
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
      let evidence = perAuditor.keys.sorted().map { "\($0)=\(String(format: "%.1f", perAuditor[$0]![String(w)]!))" }.joined(separator: " ")
      // Which CUSUM crossed h: the combined one, or a single auditor's.
      let singles = auditors.indices.filter { (cusum.auditorState[$0][w] ?? 0) > cusum.singleH }.map { auditors[$0].name }
      let why = singles.isEmpty || cusum.state[w]! > topology.audit.h
        ? "CUSUM \(String(format: "%.1f", cusum.state[w]!)) > \(topology.audit.h)"
        : "single-auditor CUSUM of \(singles.joined(separator: ", ")) > \(cusum.singleH)"
      run.logEvent("round \(round): audit flags worker \(w) (\(why); z: \(evidence))\(topology.audit.mode == .exclude ? "; excluded from aggregation" : "")")
    }
    for w in cleared { run.logEvent("round \(round): audit clears worker \(w) (CUSUM \(String(format: "%.1f", cusum.state[w]!)))") }
    return RoundMetrics.Audit(combined: Dictionary(uniqueKeysWithValues: combined.map { (String($0.key), $0.value) }),
                              cusum: Dictionary(uniqueKeysWithValues: ids.map { (String($0), cusum.state[$0] ?? 0) }),
                              flagged: cusum.flagged.sorted(), auditors: perAuditor)
  }

  /// Refusals of connections by the ZAP handler (unknown keys).
  public var refusedConnections: Int { zap?.refusals.count ?? 0 }

  // MARK: Pieces

  func reject(_ r: RejectReason) {
    rejections.record(r)
    roundRejections.record(r)
  }

  /// Live workers of this round; with sample_fraction < 1, a subset drawn from (seed, round).
  func selectParticipants(round: Int) -> [Int] {
    let live = workers.indices.filter { workers[$0].alive }
    let f = topology.coordinator.sampleFraction
    guard f < 1, !live.isEmpty else { return live }
    var rng = RandomStream(seed: topology.seed, purpose: .sampling, UInt64.max, UInt64(round))
    let k = max(1, Int((f * Double(live.count)).rounded()))
    return LocalTraining.sample(k, from: live.count, rng: &rng).map { live[$0] }.sorted()
  }

  func applyAggregate(_ aggregate: [Float]) {
    if topology.training.localSteps == 1 {
      sgd.step(&network.parameters, gradient: aggregate, learningRate: topology.training.learningRate)
    } else {
      let s = topology.coordinator.serverLearningRate
      aggregate.withUnsafeBufferPointer { a in
        network.parameters.withUnsafeMutableBufferPointer { p in BLAS.axpy(count: p.count, alpha: s, x: a.baseAddress!, y: p.baseAddress!) }
      }
    }
  }

  func sendTo(_ socket: Socket, _ w: Int, _ frames: [OutgoingFrame]) {
    guard let rid = workers[w].routingID else { return }
    do {
      try socket.send([.bytes(rid)] + frames, dontWait: true)
    } catch {
      // Unroutable (gone) or its queue is full: liveness will catch a dead worker.
    }
  }

  /// Receives and dispatches messages until some arrived or `deadline` passed: joins and heartbeats are handled here;
  /// updates go to `onUpdate`; everything invalid is counted with its reason. Also sends
  /// heartbeats and marks silent workers dead.
  func pump(_ socket: Socket, until deadline: ContinuousClock.Instant, round: Int,
            onUpdate: (FrameHeader, [Float]) -> Void) throws {
    while true {
      let now = ContinuousClock.now
      if let why = abortReason?() { throw RuntimeError(why) }
      if checkLiveness(now: now) { return }  // someone died: the caller re-checks who it waits for
      let remaining = deadline - now
      if remaining <= .zero { return }
      let wait = Int(min(remaining, .milliseconds(topology.coordinator.heartbeatMs)).seconds * 1000) + 1
      var handled = false
      if try Socket.poll([socket], timeoutMilliseconds: wait)[0] {
        while let message = try socket.receive(dontWait: true) {
          handle(message, socket: socket, round: round, onUpdate: onUpdate)
          handled = true
        }
      }
      sendHeartbeats(socket)
      if handled { return }  // let the caller re-check its condition
    }
  }

  private var lastHeartbeat = ContinuousClock.now

  func sendHeartbeats(_ socket: Socket) {
    guard ContinuousClock.now - lastHeartbeat >= .milliseconds(topology.coordinator.heartbeatMs) else { return }
    lastHeartbeat = ContinuousClock.now
    let h = FrameHeader(type: .heartbeat, runID: wiring.runID, round: 0, sender: FrameHeader.coordinatorID).encoded()
    for w in workers.indices where workers[w].alive { sendTo(socket, w, [.bytes(h)]) }
  }

  /// Marks workers silent for longer than liveness_ms dead; true if any died.
  func checkLiveness(now: ContinuousClock.Instant) -> Bool {
    var died = false
    for w in workers.indices where workers[w].alive && now - workers[w].lastSeen > .milliseconds(topology.coordinator.livenessMs) {
      workers[w].alive = false
      died = true
      run.logEvent("worker \(w) marked dead: silent for more than \(topology.coordinator.livenessMs) ms")
    }
    return died
  }

  func handle(_ message: [Message], socket: Socket, round: Int, onUpdate: (FrameHeader, [Float]) -> Void) {
    guard message.count >= 2 else { return reject(.frameCount) }
    let routingID = message[0].bytes
    let frame: Frame
    switch decoder.decode(Array(message.dropFirst())) {
    case let .success(f): frame = f
    case let .failure(r): return reject(r)
    }
    let h = frame.header
    guard h.sender != FrameHeader.coordinatorID else { return reject(.unknownSender) }
    let w = Int(h.sender)
    // Identity: with CURVE the ZAP handler bound the connection's key to a worker id.
    if wiring.curve {
      guard message[1].property("User-Id") == String(w) else {
        let user = message[1].property("User-Id") ?? "?"
        refusals.record(peer: "key of worker \(user)", what: "impersonation: a connection authenticated as worker \(user) claimed id \(w)")
        return reject(.impersonation)
      }
    } else if h.type != .hello, let known = workers[w].routingID, known != routingID {
      return reject(.impersonation)
    }
    // A hello and a heartbeat carry no round: anything else in that field is not ours.
    if h.type == .hello || h.type == .heartbeat, h.round != 0 { return reject(.reservedField) }
    switch h.type {
    case .hello:
      // A hello states the worker's shard size: it must be the one `prepare` assigned.
      guard Int(h.aux) == shardSamples[w] else {
        refusals.record(peer: "worker \(w)", what: "worker \(w) said hello with \(h.aux) samples, assigned \(shardSamples[w]): refused (sample_count_mismatch)")
        return reject(.sampleCountMismatch)
      }
      let rejoin = workers[w].routingID != nil
      workers[w].routingID = routingID
      if !workers[w].alive { run.logEvent("worker \(w) \(rejoin ? "rejoined" : "joined") at round \(round)") }
      workers[w].alive = true
      workers[w].lastSeen = ContinuousClock.now
      let welcome = FrameHeader(type: .welcome, runID: wiring.runID, round: UInt32(round), sender: FrameHeader.coordinatorID)
      sendTo(socket, w, [.bytes(welcome.encoded())])
      if let b = currentBroadcast, b.participants.contains(w) { sendTo(socket, w, b.frames) }
    case .heartbeat:
      guard workers[w].routingID != nil else { return reject(.unknownSender) }
      workers[w].lastSeen = ContinuousClock.now
      if !workers[w].alive {
        workers[w].alive = true
        run.logEvent("worker \(w) alive again at round \(round)")
      }
    case .update:
      guard workers[w].routingID != nil else { return reject(.unknownSender) }
      workers[w].lastSeen = ContinuousClock.now
      onUpdate(h, frame.payload)
    default:
      reject(.unexpectedType)
    }
  }
}
