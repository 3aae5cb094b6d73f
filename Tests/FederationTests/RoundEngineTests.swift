import Testing
@testable import Aggregation
@testable import Audit
@testable import Federation
@testable import Learning
@testable import Tensor

/// The round engine without sockets: every value below is worked by hand.
@Suite struct RoundEngineTests {
  static func engine(
    localSteps: Int = 1, lr: Float = 0.1, serverLR: Float = 1, rule: any Aggregator = Mean(),
    auditors: [any Auditor] = [], exclude: Bool = false, h: Double = 10, momentum: Float = 0, d: Int = 2
  ) -> RoundEngine {
    RoundEngine(
      settings: .init(localSteps: localSteps, learningRate: lr, serverLearningRate: serverLR, excludeFlagged: exclude, seed: 1),
      pipeline: AggregationPipeline(preaggregators: [], aggregator: rule), auditors: auditors,
      cusum: CUSUM(k: 1, h: h), sgd: SGD(parameterCount: d, momentum: momentum))
  }

  static func updates(_ rows: [[Float]], samples: Int = 1) -> [RoundEngine.Update] {
    rows.enumerated().map { RoundEngine.Update(id: $0.offset, vector: $0.element, samples: samples) }
  }

  @Test func fedSGDStepsAlongTheMeanGradient() {
    var e = Self.engine(lr: 0.1)
    var model: [Float] = [1, 2]
    let r = e.run(round: 0, updates: Self.updates([[0.2, 0.4], [0.4, 0]]), model: &model) { _ in nil }
    // mean gradient (0.3, 0.2); 1 − 0.1·0.3 = 0.97, 2 − 0.1·0.2 = 1.98
    #expect(abs(model[0] - 0.97) < 1e-6 && abs(model[1] - 1.98) < 1e-6)
    #expect(r.aggregated == [0, 1] && r.skipped == nil && r.events.isEmpty)
    // Norms in Double of the Float32 values.
    #expect(
      r.norms == [
        "0": (Double(Float(0.2)) * Double(Float(0.2)) + Double(Float(0.4)) * Double(Float(0.4))).squareRoot(), "1": Double(Float(0.4)),
      ])
  }

  @Test func fedAvgAddsTheMeanDeltaTimesTheServerRate() {
    var e = Self.engine(localSteps: 5, serverLR: 0.5)
    var model: [Float] = [1, 2]
    _ = e.run(round: 0, updates: Self.updates([[0.2, 0.4], [0.4, 0]]), model: &model) { _ in nil }
    // mean delta (0.3, 0.2) · 0.5 = (0.15, 0.1)
    #expect(abs(model[0] - 1.15) < 1e-6 && abs(model[1] - 2.1) < 1e-6)
  }

  @Test func skippedRoundsLeaveTheModelAndSayWhy() throws {
    var e = Self.engine()
    var model: [Float] = [1, 2]
    let none = e.run(round: 3, updates: [], model: &model) { _ in nil }
    #expect(none.skipped?.hasPrefix("no valid update") == true && none.aggregated.isEmpty && model == [1, 2])
    #expect(none.events == ["round 4: skipped: \(none.skipped!)"])
    var krum = Self.engine(rule: try Krum(f: 2))
    let few = krum.run(round: 4, updates: Self.updates([[1, 1], [2, 2], [3, 3]]), model: &model) { _ in nil }
    #expect(few.skipped == "Krum needs n > 2f + 2: got n=3, f=2: only 3 updates to aggregate this round")
    #expect(model == [1, 2] && few.norms.count == 3)
    var fl = Self.engine(rule: FLTrust())
    let noRef = fl.run(round: 5, updates: Self.updates([[1, 1], [2, 2]]), model: &model) { _ in nil }
    #expect(noRef.skipped?.hasPrefix("aggregation failed") == true && model == [1, 2])
  }

  @Test func auditExclusionKeepsAFlaggedWorkerOut() {
    // Five rows of norms 1.00 … 1.08 and one of norm 141: the norm auditor's robust z (computed
    // by hand with NumPy: 0.67, 0, −0.67, −0.67, 0, 4733) flags worker 5 alone in its first
    // round with h = 2, and exclude mode keeps it out of that round's aggregate already.
    var e = Self.engine(auditors: [NormZScore()], exclude: true, h: 2)
    var model: [Float] = [0, 0]
    let rows: [[Float]] = [[1, 0], [0, 1.02], [-1.04, 0], [0, -1.06], [1.08, 0], [100, -100]]
    let r = e.run(round: 0, updates: Self.updates(rows), model: &model) { _ in nil }
    #expect(r.audit?.flagged == [5])
    #expect(r.aggregated == [0, 1, 2, 3, 4])
    #expect(
      r.events.count == 1 && r.events[0].hasPrefix("round 1: audit flags worker 5") && r.events[0].hasSuffix("excluded from aggregation"))
    // mean of the five: (0.208, −0.008); FedSGD lr 0.1
    #expect(abs(model[0] + 0.0208) < 1e-6 && abs(model[1] - 0.0008) < 1e-6)
    // In observe mode the same worker is flagged but still aggregated.
    var o = Self.engine(auditors: [NormZScore()], exclude: false, h: 2)
    var m2: [Float] = [0, 0]
    let r2 = o.run(round: 0, updates: Self.updates(rows), model: &m2) { _ in nil }
    #expect(r2.audit?.flagged == [5] && r2.aggregated == [0, 1, 2, 3, 4, 5])
    // Everyone excluded: the round is skipped.
    var lone = Self.engine(auditors: [NormZScore()], exclude: true, h: 2)
    _ = lone.run(round: 0, updates: Self.updates(rows), model: &m2) { _ in nil }
    let only = lone.run(round: 1, updates: [.init(id: 5, vector: [100, -100], samples: 1)], model: &m2) { _ in nil }
    #expect(only.skipped == "every valid update came from a worker the audit excludes")
  }

  @Test func stateRoundTripsSoAResumedEngineEqualsAnUninterruptedOne() throws {
    func make() throws -> RoundEngine {
      Self.engine(rule: try CenteredClipping(tau: 0.5), auditors: [HistorySimilarity(), NormZScore()], momentum: 0.9, d: 3)
    }
    var rng = RandomStream(seed: 4)
    let rounds: [[[Float]]] = (0..<6).map { _ in (0..<5).map { _ in (0..<3).map { _ in Float(rng.nextNormal()) } } }
    var a = try make()
    var ma: [Float] = [0.5, -0.5, 1]
    for r in 0..<3 { _ = a.run(round: r, updates: Self.updates(rounds[r]), model: &ma) { _ in nil } }
    let saved = a.state
    #expect(!saved.cusum.isEmpty && saved.auditors[0].count == 2 + 5 * 4 && saved.velocity.count == 3 && saved.aggregator.count == 3)
    var b = try make()
    try b.restore(saved)
    var mb = ma
    for r in 3..<6 {
      let ra = a.run(round: r, updates: Self.updates(rounds[r]), model: &ma) { _ in nil }
      let rb = b.run(round: r, updates: Self.updates(rounds[r]), model: &mb) { _ in nil }
      #expect(ra.audit == rb.audit && ra.events == rb.events)
    }
    #expect(ma == mb)
    // A state that does not fit is refused with the part it concerns.
    var c = try make()
    #expect(throws: EngineStateError.self) { try c.restore(EngineState(velocity: [1], aggregator: [], cusum: [], auditors: [])) }
    #expect(throws: (any Error).self) {
      try c.restore(EngineState(velocity: [0, 0, 0], aggregator: [], cusum: [1, 2], auditors: [[], []]))
    }
  }
}

@Suite struct RoundCollectorTests {
  @Test func takesOneAssignedAnswerPerParticipantForThisRound() {
    var c = RoundCollector(round: 7, participants: [0, 2, 3], expectedSamples: [32, 32, 32, 16], maxNorm: 10)
    let ok: [Float] = [1, 2]
    #expect(c.offer(sender: 1, forRound: 7, samples: 32, payload: ok) == .notParticipant)
    #expect(c.offer(sender: 0, forRound: 6, samples: 32, payload: ok) == .late)
    #expect(c.offer(sender: 0, forRound: 3, samples: 32, payload: ok) == .staleRound)
    #expect(c.offer(sender: 0, forRound: 8, samples: 32, payload: ok) == .futureRound)
    #expect(c.offer(sender: 0, forRound: 7, samples: 32, payload: ok) == nil)
    #expect(c.offer(sender: 0, forRound: 7, samples: 32, payload: ok) == .duplicate)
    #expect(c.offer(sender: 3, forRound: 7, samples: 0xFFFF_FFFF, payload: ok) == .sampleCountMismatch)
    #expect(c.offer(sender: 3, forRound: 7, samples: 16, payload: ok) == .duplicate)  // it answered
    #expect(c.waiting { _ in true } == [2])
    #expect(c.waiting { $0 != 2 } == [])
    #expect(c.offer(sender: 2, forRound: 7, samples: 32, payload: [.nan, 0]) == .nonFinite)
    var d = RoundCollector(round: 0, participants: [0, 1], expectedSamples: [8, 8], maxNorm: 10)
    #expect(d.offer(sender: 1, forRound: 0, samples: 8, payload: [6, 8.5]) == .normTooLarge)
    #expect(d.offer(sender: 0, forRound: 0, samples: 8, payload: [6, 8]) == nil)  // norm exactly 10
    #expect(d.updates == [RoundEngine.Update(id: 0, vector: [6, 8], samples: 8)])
  }

  @Test func sampleFractionDrawsTheSameSubsetFromSeedAndRound() {
    let live = [0, 1, 2, 3, 5, 8, 9, 11, 12, 13]
    let a = Participants.select(live: live, fraction: 0.5, seed: 3, round: 4)
    #expect(a.count == 5 && Set(a).isSubset(of: Set(live)) && a == a.sorted())
    #expect(Participants.select(live: live, fraction: 0.5, seed: 3, round: 4) == a)
    #expect((0..<20).map { Participants.select(live: live, fraction: 0.5, seed: 3, round: $0) }.contains { $0 != a })
    #expect(Participants.select(live: live, fraction: 0.01, seed: 3, round: 4).count == 1)
    #expect(Participants.select(live: live, fraction: 1, seed: 3, round: 4) == live)
    #expect(Participants.select(live: live, fraction: 0.26, seed: 3, round: 4).count == 3)  // round(2.6)
  }

  /// DP-FedAvg's clipped noisy mean (McMahan et al. 2018). By hand: rows (3, 4) and (0, 1), clip
  /// 1, two expected participants, no noise → (3, 4) clipped to (0.6, 0.8); mean (0.3, 0.9).
  /// With noise z = 2 over 20,000 coordinates of zero rows, the sample standard deviation is
  /// z · clip / participants = 2 · 1 / 4 = 0.5 (within 2%), and the same round gives the same noise.
  @Test func dpFedAvgClipsAveragesAndAddsCalibratedNoise() {
    let x = UpdateMatrix([[3, 4], [0, 1]], samples: [1, 1], ids: [0, 1])
    let mean = RoundEngine.privateMean(x, rows: [0, 1], .init(clip: 1, noiseMultiplier: 0, expectedParticipants: 2), seed: 1, round: 0)
    #expect(abs(mean[0] - 0.3) < 1e-6 && abs(mean[1] - 0.9) < 1e-6, "\(mean)")
    let zeros = UpdateMatrix([[Float](repeating: 0, count: 20_000)], samples: [1], ids: [0])
    let dp = RoundEngine.DPFedAvg(clip: 1, noiseMultiplier: 2, expectedParticipants: 4)
    let noisy = RoundEngine.privateMean(zeros, rows: [0], dp, seed: 7, round: 3)
    let m = noisy.reduce(0.0) { $0 + Double($1) } / Double(noisy.count)
    let sd = (noisy.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(noisy.count - 1)).squareRoot()
    #expect(abs(sd - 0.5) < 0.01 && abs(m) < 0.02, "sd \(sd), mean \(m)")
    #expect(RoundEngine.privateMean(zeros, rows: [0], dp, seed: 7, round: 3) == noisy)
    #expect(RoundEngine.privateMean(zeros, rows: [0], dp, seed: 7, round: 4) != noisy)
  }
}
