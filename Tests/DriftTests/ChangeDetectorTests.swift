import Foundation
import Testing

@testable import Drift
@testable import Tensor

/// CUSUM and Page–Hinkley by hand, and CUSUM's in-control average run length against the
/// published value.
struct ChangeDetectorTests {
  /// μ₀ = 0, k = ½, h = 2 on 0, 1, 1, 1, 0, −3: C⁺ = 0, ½, 1, 3/2, 1, 0 and C⁻ = 0, …, 0, 5/2,
  /// so the only alarm is on the last value (by hand).
  @Test func cusumByHand() {
    var c = CUSUM(target: 0, slack: 0.5, threshold: 2)
    let alarms = [0.0, 1, 1, 1, 0, -3].map { c.add($0) }
    #expect(alarms == [false, false, false, false, false, true])
    #expect(c.upper == 0 && c.lower == 2.5)
  }

  /// δ = 0, λ = 1 on 1, 1, 1, 0, 0: the running means are 1, 1, 1, ¾, ⅗, so m = 0, 0, 0, ¾,
  /// 1.35 and M = 0: the alarm comes on the fifth value (by hand).
  @Test func pageHinkleyByHand() {
    var p = PageHinkley(delta: 0, lambda: 1)
    let alarms = [1.0, 1, 1, 0, 0].map { p.add($0) }
    #expect(alarms == [false, false, false, false, true])
    #expect(abs(p.statistic - 1.35) < 1e-12)
    var rising = PageHinkley(delta: 0, lambda: 1, increase: true)
    #expect([0.0, 0, 0, 1, 1].map { rising.add($0) } == [false, false, false, false, true])
  }

  /// Two-sided CUSUM with k = σ/2, h = 5σ on in-control N(0, 1) data alarms falsely every
  /// ≈ 465 observations (Montgomery, "Introduction to Statistical Quality Control", Table 9.3:
  /// one-sided ARL₀ 930, halved for two sides): 2,000 simulated runs fall within 10%.
  @Test func cusumInControlAverageRunLength() {
    var rng = RandomStream(seed: 21)
    var total = 0
    let runs = 2000
    for _ in 0..<runs {
      var c = CUSUM(target: 0, slack: 0.5, threshold: 5)
      while !c.add(rng.nextNormal()) {}
      total += c.count
    }
    let arl = Double(total) / Double(runs)
    #expect(abs(arl - 465) < 46.5, "ARL₀ \(arl)")
  }

  /// A shift of one σ is caught within ≈ 10.4 observations on average (the same table).
  @Test func cusumDetectsAOneSigmaShift() {
    var rng = RandomStream(seed: 22)
    var total = 0
    for _ in 0..<2000 {
      var c = CUSUM(target: 0, slack: 0.5, threshold: 5)
      while !c.add(1 + rng.nextNormal()) {}
      total += c.count
    }
    #expect(abs(Double(total) / 2000 - 10.4) < 1.0)
  }

  /// From 1, 2, 3, 4: μ₀ = 2.5, σ = √(5/3), so k = σ/2 and h = 5σ.
  @Test func cusumFromAReferenceSample() {
    let c = CUSUM.fromReference([1, 2, 3, 4])
    let sigma = (5.0 / 3).squareRoot()
    #expect(c.target == 2.5 && abs(c.slack - sigma / 2) < 1e-12 && abs(c.threshold - 5 * sigma) < 1e-12)
  }
}
