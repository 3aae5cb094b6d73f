import Testing
@testable import Aggregation
@testable import Audit
@testable import Tensor

@Suite struct AuditorTests {
  func scores(_ a: any Auditor, _ rows: [[Float]], aggregate: [Float]? = nil) -> [Double] {
    var auditor = a
    return auditor.scores(UpdateMatrix(rows), aggregate: aggregate)
  }
  func near(_ a: [Double], _ b: [Double], _ tol: Double = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol }
  }

  @Test func workedExamples() {
    #expect(near(scores(CosineToAggregate(), [[2, 0], [0, 1], [-1, 0]], aggregate: [1, 0]), [0, 1, 2]))
    #expect(near(scores(MedianDistance(), [[0, 0], [1, 0], [0, 1]]), [0, 1, 1]))
    #expect(near(scores(KrumScore(f: 0), [[0, 0], [1, 0], [5, 0]]), [1, 1, 16]))
    let sign = scores(SignAgreement(), [[1, -1, 0, 2], [1, -1, 0, 2], [1, -1, 0, 2], [-1, 1, 5, 2]])
    #expect(near(sign, [0, 0, 0, 2.0 / 3]))
    #expect(near(scores(HistorySimilarity(), [[1, 0], [1, 0], [0, 1]]), [1, 1, 0]))
    let z = scores(NormZScore(), [[1, 0], [0, 1], [1, 0], [3, 4]])
    #expect(z[0] == 0 && z[3] > 1e6)
  }

  /// [1, 2, 3, 4, 100]: median 3, MAD 1 → z = (s − 3)/1.4826.
  @Test func robustZ() {
    let z = RobustZ.normalize([1, 2, 3, 4, 100])
    #expect(abs(z[4] - 97 / 1.4826) < 1e-9 && abs(z[0] + 2 / 1.4826) < 1e-9)
  }

  /// k = 1, h = 3: z = 3 → C = 2, 4 (flag), then z = −1 → 2 … 0 (cleared below 1.5).
  @Test func cusum() {
    var c = CUSUM(k: 1, h: 3)
    #expect(c.update([7: 3]).flagged.isEmpty && c.state[7] == 2)
    #expect(c.update([7: 3]).flagged == [7])
    #expect(c.update([7: -1]).cleared.isEmpty && c.state[7] == 2)
    #expect(c.update([7: -1]).cleared == [7] && c.state[7] == 0)
  }

  /// `CUSUM.combine` by hand: the mean of z clipped to [−5, 10].
  @Test func combineIsTheMeanOfClippedZ() {
    let z = CUSUM.combine([[0.5, 20], [-0.2, -9], [0.1, 0], [8, 0]], ids: [3, 4])
    #expect(abs(z[3]! - 2.1) < 1e-12)
    #expect(abs(z[4]! - 1.25) < 1e-12)  // (10 − 5 + 0 + 0) / 4
  }

  /// k = 1, h = 10 (single: slack 3, threshold 30), two auditors. Worker 0, z = (10, −5):
  /// combined mean 2.5 → +1.5 a round (flag at round 7), its first auditor alone +7 a round:
  /// 7 … 35 > 30 → flagged at round 5. Worker 1, z = (2.5, 2.5): single CUSUMs stay 0, the
  /// combined one flags it at round 7 (10.5).
  @Test func singleAuditorCUSUMConvictsAlone() {
    var c = CUSUM(k: 1, h: 10)
    var flaggedAt: [Int: Int] = [:]
    for r in 1...8 {
      for w in c.update(perAuditor: [[10, 2.5], [-5, 2.5]], ids: [0, 1]).flagged { flaggedAt[w] = r }
    }
    #expect(flaggedAt == [0: 5, 1: 7])
    #expect(c.auditorState[0][0] == 56 && c.auditorState[1][0] == 0 && c.auditorState[0][1] == 0)
    #expect(c.state[1] == 12)  // 8 rounds × (2.5 − 1)
  }

  @Test func detectionMetricsByHand() {
    let c = DetectionMetrics.confusion(flagged: [1, 2, 5], malicious: [1, 2, 3], workers: Array(0..<6))
    #expect(c == DetectionMetrics.Confusion(tp: 2, fp: 1, fn: 1, tn: 2))
    #expect(c.precision == 2.0 / 3 && c.recall == 2.0 / 3 && abs(c.f1! - 2.0 / 3) < 1e-12 && c.falsePositiveRate == 1.0 / 3)
    // AUC: malicious {a: 0.9, b: 0.4}, honest {0.5, 0.1}: pairs won 1+1+0+1 = 3 of 4.
    #expect(DetectionMetrics.auc([0: 0.9, 1: 0.4, 2: 0.5, 3: 0.1], malicious: [0, 1]) == 0.75)
    #expect(DetectionMetrics.auc([0: 1], malicious: [0]) == nil)
    let first = DetectionMetrics.roundsToFirstDetection([[], [4], [4, 5]], malicious: [4, 5, 6])
    #expect(first[4] == 1 && first[5] == 2 && first[6]! == nil)
  }

  static let all: [any Auditor] = [
    NormZScore(), CosineToAggregate(), MedianDistance(), KrumScore(f: 3),
    SignAgreement(), HistorySimilarity(), MantissaChiSquare(),
  ]

  /// Rounds of honest updates: mean gradient plus per-worker noise.
  static func round(_ r: Int, workers: Int, flipped: Set<Int> = [], d: Int = 200) -> UpdateMatrix {
    var rng = RandomStream(seed: 42, UInt64(r))
    let mean = (0..<d).map { _ in Float(rng.nextNormal()) * 0.5 }
    let rows: [[Float]] = (0..<workers).map { w in
      let v = mean.map { $0 + Float(rng.nextNormal()) }
      return flipped.contains(w) ? v.map { -$0 } : v
    }
    return UpdateMatrix(rows)
  }

  func run(rounds: Int, workers: Int, flipped: Set<Int>) -> [Set<Int>] {
    var auditors = Self.all
    var cusum = CUSUM()
    var flaggedByRound: [Set<Int>] = []
    for r in 0..<rounds {
      let x = Self.round(r, workers: workers, flipped: flipped)
      let per = auditors.indices.map { k in RobustZ.normalize(auditors[k].scores(x, aggregate: nil)) }
      cusum.update(perAuditor: per, ids: x.ids)
      flaggedByRound.append(cusum.flagged)
    }
    return flaggedByRound
  }

  @Test func honestOnlyFlagsNobodyOver200Rounds() {
    let flagged = run(rounds: 200, workers: 13, flipped: [])
    #expect(flagged.allSatisfy { $0.isEmpty })
  }

  @Test func signFlippersAreFlaggedWithinAFewRounds() {
    let malicious: Set<Int> = [10, 11, 12]
    let flagged = run(rounds: 30, workers: 13, flipped: malicious)
    let first = DetectionMetrics.roundsToFirstDetection(flagged, malicious: malicious)
    #expect(first.values.allSatisfy { ($0 ?? 99) < 10 }, "\(first)")
    #expect(flagged.last!.subtracting(malicious).isEmpty)
  }

  /// Hidden image bytes (mostly 0: the Fashion-MNIST background) in the low 4 mantissa bits.
  @Test func mantissaTestFindsHiddenBits() {
    var rows = Self.round(0, workers: 10, d: 2000).data
    for j in 0..<2000 { rows[9 * 2000 + j] = Float(bitPattern: rows[9 * 2000 + j].bitPattern & ~0xF | UInt32(j % 17 == 0 ? 9 : 0)) }
    let z = MantissaChiSquare(bits: 4).scores(UpdateMatrix(rows: 10, cols: 2000, data: rows), aggregate: nil)
    #expect(z[9] > 20 && z[0..<9].allSatisfy { abs($0) < 5 }, "\(z)")
  }
}
