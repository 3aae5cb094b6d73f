import Foundation
import Testing
import TestSupport

@testable import Privacy

/// The ROC figures and LiRA's statistics by hand and against SciPy.
struct MembershipTests {
  /// Scores 0.9, 0.8, 0.7, 0.6 with members at 0.9 and 0.7: of the four member/non-member
  /// pairs, three are ordered right, so AUC = 3/4; the threshold 0.9 gives TPR ½ at FPR 0,
  /// and the best balanced accuracy is (½ + 1)/2 = 3/4. Ties count half: scores 1, 1, 0 with
  /// the member first give AUC (½ + 1)/2 = 3/4.
  @Test func rocByHand() {
    let r = ROC(scores: [0.9, 0.8, 0.7, 0.6], isMember: [true, false, true, false])
    #expect(r.auc == 0.75)
    #expect(r.tpr(atFPR: 0) == 0.5)
    #expect(r.tpr(atFPR: 0.5) == 1)
    #expect(r.balancedAccuracy == 0.75)
    #expect(ROC(scores: [1, 1, 0], isMember: [true, false, false]).auc == 0.75)
    #expect(ROC(scores: [3, 2, 1], isMember: [true, true, false]).auc == 1)
  }

  /// AUC equals SciPy's Mann–Whitney U / (n₁n₂) on scores with many ties.
  @Test func aucMatchesMannWhitney() throws {
    var scores: [Double] = [], members: [Bool] = []
    var state: UInt64 = 12345
    for i in 0..<400 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      let member = i % 3 == 0
      scores.append(Double((state >> 33) % 50) + (member ? 4 : 0))
      members.append(member)
    }
    let input = zip(scores, members).map { "\($0) \($1 ? 1 : 0)" }.joined(separator: "\n")
    let out = try ReferencePython.run(
      [
        "-c",
        """
        import sys
        from scipy import stats
        rows = [l.split() for l in sys.stdin.read().split('\\n')]
        a = [float(s) for s, m in rows if m == '1']; b = [float(s) for s, m in rows if m == '0']
        print(repr(float(stats.mannwhitneyu(a, b).statistic / (len(a) * len(b)))))
        """,
      ], input: Array(input.utf8))
    let expected = try #require(Double(out.trimmingCharacters(in: .whitespacesAndNewlines)))
    #expect(abs(ROC(scores: scores, isMember: members).auc - expected) < 1e-12)
  }

  /// LiRA's scores against SciPy's normal log-density; the fits by hand: shadows' φ for two
  /// examples, (1, 5), (3, 7), (2, 6), the third shadow trained on example 1 only.
  @Test func liraByHandAndAgainstSciPy() throws {
    let fits = MembershipScores.fits(
      phi: [[1, 5], [3, 7], [2, 6]], trainedOn: [[true, false], [true, false], [false, true]], fixedVariance: false)
    #expect(fits[0].meanIn == 2 && abs(fits[0].sdIn - 2.0.squareRoot()) < 1e-12 && fits[0].meanOut == 2)
    #expect(fits[1].meanOut == 6 && abs(fits[1].sdOut - 2.0.squareRoot()) < 1e-12 && fits[1].meanIn == 6)
    // One OUT (one IN) shadow: the pooled deviation, √((1 + 1)/1) for example 0's OUT.
    #expect(abs(fits[0].sdOut - 2.0.squareRoot()) < 1e-12)
    let fixed = MembershipScores.fits(
      phi: [[1, 5], [3, 7], [2, 6]], trainedOn: [[true, false], [true, false], [false, true]], fixedVariance: true)
    #expect(fixed.allSatisfy { abs($0.sdIn - 2.0.squareRoot()) < 1e-12 && abs($0.sdOut - 2.0.squareRoot()) < 1e-12 })
    let fit = MembershipScores.Fit(meanIn: 2.5, sdIn: 0.7, meanOut: -1, sdOut: 1.3)
    let out = try ReferencePython.run([
      "-c", "from scipy import stats\nprint(repr(float(stats.norm.logpdf(1.7, 2.5, 0.7) - stats.norm.logpdf(1.7, -1, 1.3))))",
    ])
    #expect(
      abs(MembershipScores.lira(1.7, fit: fit, variant: .online) - Double(out.trimmingCharacters(in: .whitespacesAndNewlines))!) < 1e-12)
    #expect(abs(MembershipScores.lira(1.7, fit: fit, variant: .offline) - 2.7 / 1.3) < 1e-12)
    // φ = log(p / (1 − p)) of the label's probability.
    #expect(abs(MembershipScores.scaledConfidence([0.1, 0.8, 0.1], label: 1) - log(4.0)) < 1e-12)
  }

  @Test func logisticRegressionSeparates() {
    let x = (0..<100).map { i in [Double(i % 10), Double(i) / 10] }
    let y = (0..<100).map { $0 >= 50 }
    let model = LogisticRegression(features: x, labels: y)
    let roc = ROC(scores: x.map(model.score), isMember: y)
    #expect(roc.auc > 0.99)
  }
}
