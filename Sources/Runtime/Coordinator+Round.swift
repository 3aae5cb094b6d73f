import Federation
import Foundation
import Learning
import Transport

/// One round, as a handful of visible calls: select the participants, broadcast the model,
/// collect (the screen), run the engine (audit → select → aggregate → apply), evaluate.
extension Coordinator {
  func runRound(_ round: Int, socket: Socket, leak: Socket?, progress: inout Progress) throws -> RoundMetrics {
    let t0 = ContinuousClock.now
    roundRejections = RejectionCounts()
    let live = workers.indices.filter { workers[$0].alive }
    let participants =
      topology.clients.map { Participants.clients($0.perRound, of: $0.count, seed: topology.seed, round: round) }
      ?? Participants.select(live: live, fraction: topology.coordinator.sampleFraction, seed: topology.seed, round: round)
    if round == 0, let waffle {
      // WAFFLE's pretraining: the initial model learns the triggers before anyone sees it.
      let (steps, accuracy) = waffle.retrain(network, round: -1)
      run.logEvent("watermark: pretrained \(steps) steps, trigger accuracy \(accuracy)")
    }
    broadcast(round, to: participants, live: live, socket: socket, leak: leak)
    let (record, t1) = try exchange(round, participants: participants, socket: socket, leak: leak)
    for line in record.events { run.logEvent(line) }
    var watermarkAccuracy: Double?
    if let waffle {
      let (steps, accuracy) = waffle.retrain(network, round: round)
      watermarkAccuracy = accuracy
      if steps > 0 { run.logEvent("round \(round + 1): watermark retrained \(steps) steps, trigger accuracy \(accuracy)") }
    }
    let t2 = ContinuousClock.now
    var evaluation: Evaluation?, successRate: Double?
    if (round + 1) % topology.coordinator.evalEvery == 0 || round == topology.rounds - 1 {
      evaluation = network.evaluate(test)
      progress.evaluation = evaluation
      if let attackTest, attackTest.count > 0 { successRate = network.evaluate(attackTest).accuracy; progress.successRate = successRate }
    }
    let t3 = ContinuousClock.now
    let ms = { (a: ContinuousClock.Instant, b: ContinuousClock.Instant) in (b - a).seconds * 1000 }
    return RoundMetrics(
      round: round + 1, participants: participants, aggregated: record.aggregated, workersAlive: workers.filter(\.alive).count,
      testAccuracy: evaluation?.accuracy, testLoss: evaluation?.loss, updateNorms: record.norms,
      rejected: roundRejections.named, attackSuccessRate: successRate, weights: record.weights, audit: record.audit,
      skipped: record.skipped, watermarkAccuracy: watermarkAccuracy,
      timing: .init(roundMs: ms(t0, ContinuousClock.now), collectMs: ms(t0, t1), aggregateMs: ms(t1, t2), evalMs: ms(t2, t3)))
  }

  /// Gathers the round's updates (each one, or under secure aggregation only their sum) and runs
  /// the engine on them; the curious coordinator reads what it was shown. Returns the engine's
  /// record and when collection ended.
  func exchange(_ round: Int, participants: [Int], socket: Socket, leak: Socket?) throws -> (RoundEngine.Record, ContinuousClock.Instant) {
    let curious = topology.coordinator.curiousEvery.map { round % $0 == 0 } ?? false
    if topology.coordinator.secureAggregation != nil {
      currentBroadcast = nil
      let secure = try collectSecure(round, participants: participants, socket: socket)
      if curious { try peek(round, secure.seen) }
      let t1 = ContinuousClock.now
      var record = engine.run(
        round: round, mean: secure.mean, contributors: secure.survivors, failure: secure.failure, model: &network.parameters)
      record.events.insert(contentsOf: secure.events, at: 0)
      return (record, t1)
    }
    let collector = try collect(round, participants: participants, socket: socket, leak: leak)
    if curious { try peek(round, collector.updates) }
    let t1 = ContinuousClock.now
    // The engine steps the model in place (no copy of the parameters per round).
    let record = engine.run(round: round, updates: collector.updates, model: &network.parameters) { model in
      root?.update(model: model, round: round).vector
    }
    return (record, t1)
  }

  /// Sends round `round`'s model to its participants (and, in omniscient runs, the roster to
  /// the adversary hub).
  /// Logical clients: the model goes to the live pool processes, each followed by the clients it
  /// runs — the round's clients dealt in turn (which process runs which does not change results).
  func broadcast(_ round: Int, to participants: [Int], live: [Int], socket: Socket, leak: Socket?) {
    let model = FloatBuffer(network.parameters)
    let header = FrameHeader(
      type: .model, dtype: .float32, runID: wiring.runID, round: UInt32(round),
      sender: FrameHeader.coordinatorID, count: UInt32(model.count))
    let receivers = topology.clients == nil ? participants : assign(participants, to: live, round: round)
    currentBroadcast = (receivers, [.bytes(header.encoded()), .floats(model)])
    if let leak {
      let roster = FrameHeader(
        type: .roster, dtype: .float32, runID: wiring.runID, round: UInt32(round),
        sender: FrameHeader.coordinatorID, count: UInt32(participants.count))
      leakSend(leak, [.bytes(roster.encoded()), .floats(FloatBuffer(participants.map(Float.init)))])
    }
    for w in receivers {
      sendTo(socket, w, currentBroadcast!.frames)
      if let a = assignmentFrames[w] { sendTo(socket, w, a) }
    }
  }

  /// Deals the round's clients to the live pool processes in turn; returns the processes given any.
  func assign(_ clients: [Int], to live: [Int], round: Int) -> [Int] {
    assignment = [:]
    assignmentFrames = [:]
    guard !live.isEmpty else { return [] }
    var lists: [Int: [Int]] = [:]
    for (j, c) in clients.enumerated() {
      let p = live[j % live.count]
      assignment[c] = p
      lists[p, default: []].append(c)
    }
    for (p, ids) in lists {
      var bytes = [UInt8]()
      bytes.reserveCapacity(ids.count * 4)
      for c in ids { withUnsafeBytes(of: UInt32(c).littleEndian) { bytes.append(contentsOf: $0) } }
      let h = FrameHeader(
        type: .assign, dtype: .bytes, runID: wiring.runID, round: UInt32(round), sender: FrameHeader.coordinatorID,
        count: UInt32(bytes.count))
      assignmentFrames[p] = [.bytes(h.encoded()), .bytes(bytes)]
    }
    return lists.keys.sorted()
  }

  /// Collects the round's updates until every live participant answered or the deadline passed.
  /// Each update is screened as it arrives (`RoundCollector.offer`); a refusal is counted under
  /// its reason. Taken updates are forwarded to the hub in omniscient runs.
  func collect(_ round: Int, participants: [Int], socket: Socket, leak: Socket?) throws -> RoundCollector {
    var collector = RoundCollector(
      round: round, participants: participants, expectedSamples: expectedSamples,
      maxNorm: topology.coordinator.maxUpdateNorm)
    let deadline = ContinuousClock.now + .milliseconds(topology.coordinator.roundDeadlineMs)
    // A participant is waited for while its process lives (a logical client's: its pool process's).
    let clients = topology.clients != nil
    let alive: (Int) -> Bool = clients ? { c in self.assignment[c].map { self.workers[$0].alive } ?? false } : { self.workers[$0].alive }
    while ContinuousClock.now < deadline, !collector.waiting(alive: alive).isEmpty {
      try pump(socket, until: min(deadline, ContinuousClock.now + .milliseconds(topology.coordinator.heartbeatMs)), round: round) {
        h, frame in
        // Secure-aggregation messages outside a secure round are not ours.
        guard h.type == (clients ? .clientUpdate : .update) else { return reject(.unexpectedType) }
        let payload = frame.payload
        // A pool process speaks for the clients it was given this round, and only for them; their
        // weights come from the recorded shard sizes (the frame's aux names the client).
        var w = Int(h.sender), samples = Int(h.aux)
        if clients {
          w = Int(h.aux)
          guard Int(h.round) != round || assignment[w] == Int(h.sender) else {
            refusals.record(
              peer: "worker \(h.sender)", what: "round \(round + 1): worker \(h.sender) sent an update for client \(h.aux), not given to it"
            )
            return reject(.unassignedClient)
          }
          samples = w < expectedSamples.count ? expectedSamples[w] : -1
        }
        if let refusal = collector.offer(sender: w, forRound: Int(h.round), samples: samples, payload: payload) {
          if refusal == .sampleCountMismatch {
            refusals.record(
              peer: "worker \(w)",
              what:
                "round \(round + 1): worker \(w) claimed \(h.aux) samples, assigned \(expectedSamples[w]): update refused (sample_count_mismatch)"
            )
          }
          return reject(RejectReason(refusal))
        }
        if let leak, topology.leaksHonestUpdates {
          let fwd = FrameHeader(
            type: .update, dtype: .float32, runID: wiring.runID, round: UInt32(round),
            sender: FrameHeader.coordinatorID, count: UInt32(payload.count), aux: UInt32(w))
          leakSend(leak, [.bytes(fwd.encoded()), .floats(FloatBuffer(payload))])
        }
      }
    }
    currentBroadcast = nil
    assignmentFrames = [:]
    return collector
  }

  /// The leak to the adversary hub is a simulation device: a full queue drops the message (the
  /// hub then crafts with less), never blocks the round.
  func leakSend(_ leak: Socket, _ frames: [OutgoingFrame]) {
    do { try leak.send(frames, dontWait: true) } catch {}
  }
}

extension RejectReason {
  /// The wire's name for a collector's refusal.
  init(_ r: RoundCollector.Refusal) {
    switch r {
    case .notParticipant: self = .unexpectedType
    case .late: self = .late
    case .staleRound: self = .staleRound
    case .futureRound: self = .futureRound
    case .duplicate: self = .duplicate
    case .sampleCountMismatch: self = .sampleCountMismatch
    case .nonFinite: self = .nonFinite
    case .normTooLarge: self = .normTooLarge
    }
  }
}
