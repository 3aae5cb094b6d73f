import Testing

@testable import Drift
@testable import Tensor

/// The traffic scenarios' image shifts, by hand on small images.
struct DriftScenarioTests {
  let shape = ImageShape(height: 3, width: 3, channels: 1)
  let image: [Float] = (0..<9).map { Float($0) / 8 }

  @Test func phasesAndRamps() {
    let s = DriftScenario(phases: [
      .init(start: 10, kind: .brightness, strength: 0.4, ramp: 4), .init(start: 0, kind: .none),
    ])
    var rng = RandomStream(seed: 1)
    #expect(s.apply(image, shape: shape, at: 9, rng: &rng) == image)
    // Ramped: ¼, ½, ¾, then all of 0.4.
    #expect(abs(s.strength(at: 10) - 0.1) < 1e-12 && abs(s.strength(at: 12) - 0.3) < 1e-12 && s.strength(at: 13) == 0.4)
    let bright = s.apply(image, shape: shape, at: 20, rng: &rng)
    #expect(bright[0] == 0.4 && bright[8] == 1)  // clipped at 1
  }

  /// 90°: output (x, y) takes input (y, 2 − x), so the first row is the first column read
  /// bottom-up: 6, 3, 0 (in eighths).
  @Test func rotationByNinetyDegrees() {
    var rng = RandomStream(seed: 1)
    let r = DriftScenario(phases: [.init(start: 0, kind: .rotation, strength: 90)]).apply(image, shape: shape, at: 0, rng: &rng)
    #expect(Array(r[0..<3]) == [6 / 8, 3 / 8, 0])
    #expect(r[4] == image[4])
  }

  @Test func contrastKeepsTheMeanAndOcclusionBlanks() {
    var rng = RandomStream(seed: 1)
    let c = DriftScenario(phases: [.init(start: 0, kind: .contrast, strength: -0.5)]).apply(image, shape: shape, at: 0, rng: &rng)
    #expect(abs(c.reduce(0, +) - image.reduce(0, +)) < 1e-5 && c[0] == 0.25 && c[8] == 0.75)
    let o = DriftScenario(phases: [.init(start: 0, kind: .occlusion, strength: 1)]).apply(image, shape: shape, at: 0, rng: &rng)
    #expect(o.allSatisfy { $0 == 0 })
  }
}
