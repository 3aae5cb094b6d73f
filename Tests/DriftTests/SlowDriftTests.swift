import Foundation
import Testing

@testable import Drift

/// The slow-drift adversary's two rules, on numbers known without it: the morph by hand, and its
/// step rule on the worked KS example (x = 1…10 against x + 3.5: D = 0.4, exact
/// p = 0.41752365), whose level is ln 0.41752365 / ln 0.05 = 0.291553 (by hand).
struct SlowDriftTests {
  @Test func morphMovesTowardTheTargetByTheStrength() {
    #expect(SlowDriftAdversary.morph([0, 1, 0.5], toward: [1, 1, 0], strength: 0.25) == [0.25, 1, 0.375])
    #expect(SlowDriftAdversary.morph([0.2, 0.4], toward: [0.9, 0.1], strength: 0) == [0.2, 0.4])
    #expect(SlowDriftAdversary.morph([0.2, 0.4], toward: [0.9, 0.1], strength: 1) == [0.9, 0.1])
  }

  func adversary(margin: Double) -> SlowDriftAdversary {
    let reference = WindowReference(rows: (1...10).map { [Double($0)] }, labels: [Double](repeating: 0, count: 10))
    return SlowDriftAdversary(
      reference: reference, detectors: [.ks], settings: WindowSettings(alpha: 0.05), window: 10, margin: margin, step: 0.1)
  }

  @Test func theLevelIsTheWorkedKSExamplesOnTheAlertScale() {
    let r = WindowReference(rows: (1...10).map { [Double($0)] }, labels: [Double](repeating: 0, count: 10))
      .evaluate(.ks, rows: (1...10).map { [Double($0) + 3.5] }, labels: [Double](repeating: 0, count: 10), settings: WindowSettings())
    #expect(abs(r.statistic - 0.4) < 1e-12)
    #expect(abs(r.pValue! - 0.41752365) < 1e-8)
    #expect(abs(r.level - 0.291553) < 1e-6 && !r.alert)
  }

  @Test func itStepsUpUnderTheMarginAndBackAboveIt() {
    var bold = adversary(margin: 0.8)
    var wary = adversary(margin: 0.2)
    // Nothing happens until its window is full.
    for k in 1...9 {
      bold.sent([Float(k) + 3.5], label: 0)
      wary.sent([Float(k) + 3.5], label: 0)
    }
    #expect(bold.adjust() == 0 && bold.strength == 0)
    bold.sent([13.5], label: 0)
    wary.sent([13.5], label: 0)
    // Level 0.2915: under 0.8, so up by the step; over 0.2, so down (and never below 0).
    #expect(abs(bold.adjust() - 0.291553) < 1e-6 && abs(bold.strength - 0.1) < 1e-12)
    #expect(abs(bold.adjust() - 0.291553) < 1e-6 && abs(bold.strength - 0.2) < 1e-12)
    #expect(abs(wary.adjust() - 0.291553) < 1e-6 && wary.strength == 0)
    // The window slides: ten values of 103.5 leave nothing of the shifted sample; D = 1, and the
    // exact p of two disjoint samples of ten is 2 / C(20, 10) = 1.0825e-5, level 3.8166 (by hand).
    for _ in 0..<10 { bold.sent([103.5], label: 0) }
    #expect(abs(bold.adjust() - log(2.0 / 184756) / log(0.05)) < 1e-6)
    #expect(abs(bold.strength - 0.1) < 1e-12)
  }
}
