import Testing

@testable import Privacy

/// MI-Face's stopping rules on costs worked out by hand.
struct ModelInversionTests {
  /// c(x) = 1 − x with gradient −1 and λ = 0.1: x climbs 0.1 a step, so c ≤ γ = 0.01 first holds
  /// after 10 steps (x = 1, c = 0, by hand).
  @Test func stopsWhenTheCostReachesGamma() {
    var a = ModelInversion()
    a.lambda = 0.1
    let r = a.descend(start: [0], label: 0, cost: { 1 - Double($0[0]) }, gradient: { _ in [-1] }, queriesPerStep: 1)
    #expect(r.steps == 10 && abs(r.cost) < 1e-6 && abs(r.image[0] - 1) < 1e-6)
  }

  /// A flat cost: after β steps none is better than the worst of the last β, so it stops at β.
  @Test func stopsWithoutImprovementAfterBetaSteps() {
    var a = ModelInversion()
    a.beta = 5
    let r = a.descend(start: [0.3], label: 0, cost: { _ in 0.7 }, gradient: { _ in [0] }, queriesPerStep: 3)
    #expect(r.steps == 5 && r.cost == 0.7 && r.queries == 15 && r.image == [0.3])
  }

  /// α caps the steps; the best point seen is returned, and the box [0, 1] is kept.
  @Test func stopsAtAlphaAndKeepsTheBest() {
    var a = ModelInversion()
    a.alpha = 3
    a.lambda = 0.5
    let r = a.descend(start: [0.2], label: 0, cost: { 1 - Double($0[0]) }, gradient: { _ in [-1] }, queriesPerStep: 1)
    #expect(r.steps == 2 && r.image == [1])  // 0.2 → 0.7 → 1 (clipped): c = 0 ≤ γ at step 2
    var b = ModelInversion()
    b.alpha = 3
    b.lambda = 0.01
    let s = b.descend(start: [0], label: 0, cost: { 1 - Double($0[0]) }, gradient: { _ in [-1] }, queriesPerStep: 1)
    #expect(s.steps == 3 && abs(s.image[0] - 0.03) < 1e-6)
  }
}
