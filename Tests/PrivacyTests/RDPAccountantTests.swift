import Foundation
import Testing
import TestSupport

@testable import Privacy

/// The accountant against figures computed without it: by hand, the published examples of
/// Opacus and TensorFlow Privacy, and Opacus's own RDP module (opacus 1.5.4, pinned in
/// scripts/requirements-test-nodeps.txt, loaded by path into the reference venv).
struct RDPAccountantTests {
  /// q = 1/2, σ = 1, α = 2: A₂ = Σᵢ C(2,i) qⁱ(1−q)²⁻ⁱ e^((i²−i)/2) = 1/4 + 1/2 + e/4, so one step
  /// has RDP ln(0.75 + e/4) = 0.3573740… (by hand); q = 1 is the plain Gaussian, α/(2σ²).
  @Test func workedExamplesByHand() {
    let r = RDPAccountant.rdp(sampleRate: 0.5, sigma: 1, order: 2)
    #expect(abs(r - log(0.75 + exp(1.0) / 4)) < 1e-14)
    #expect(abs(r - 0.357_374_0) < 1e-7)
    #expect(RDPAccountant.rdp(sampleRate: 1, sigma: 2, order: 3) == 3.0 / 8)
    #expect(RDPAccountant.rdp(sampleRate: 0, sigma: 2, order: 3) == 0)
    #expect(RDPAccountant.rdp(sampleRate: 0.1, sigma: 0, order: 3) == .infinity)
  }

  /// Opacus's docstring (opacus/accountants/analysis/rdp.py): phases (q, σ, steps) = (1e-5, 1.0,
  /// 10) and (1e-4, 3.0, 4), orders 2…32, δ = 1e-5 → ε ≈ 0.336 at order 23.
  @Test func opacusDocstringExample() throws {
    var a = try RDPAccountant(orders: (2...32).map(Double.init))
    try a.compose(sampleRate: 1e-5, sigma: 1.0, steps: 10)
    try a.compose(sampleRate: 1e-4, sigma: 3.0, steps: 4)
    let (epsilon, order) = try a.epsilon(delta: 1e-5)
    #expect(abs(epsilon - 0.336) < 5e-4)
    #expect(order == 23)
  }

  /// TensorFlow Privacy's MNIST tutorial: σ = 1.12, batch 256 of 60,000, 60 epochs (14,062
  /// steps), δ = 1e-5 → ε = 2.92 with the classic conversion.
  @Test func tensorflowPrivacyTutorial() throws {
    var a = try RDPAccountant()
    try a.compose(sampleRate: 256.0 / 60_000, sigma: 1.12, steps: 60 * 60_000 / 256)
    let (epsilon, _) = try a.epsilon(delta: 1e-5, conversion: .classic)
    #expect((epsilon * 100).rounded() / 100 == 2.92)
    // Balle et al.'s conversion is tighter for the same RDP curve.
    #expect(try a.epsilon(delta: 1e-5).epsilon < epsilon)
  }

  /// A grid of (q, σ, steps, δ) with Opacus's default orders (fractional and integer): ε and
  /// the order agree with Opacus's module to 1e-6.
  @Test func matchesOpacus() throws {
    var cases: [(q: Double, sigma: Double, steps: Int, delta: Double)] = []
    for q in [0.001, 0.004_266_666_666_666_667, 0.01, 0.1, 0.5] {
      for sigma in [0.6, 1.0, 1.12, 2.5, 8.0] {
        for steps in [1, 100, 10_000] { cases.append((q, sigma, steps, steps == 100 ? 1e-6 : 1e-5)) }
      }
    }
    let input = cases.map { "\($0.q) \($0.sigma) \($0.steps) \($0.delta)" }.joined(separator: "\n")
    let script = """
      import glob, importlib.util, sys, warnings
      warnings.simplefilter('ignore')
      path = glob.glob(sys.prefix + '/lib/python*/site-packages/opacus/accountants/analysis/rdp.py')[0]
      spec = importlib.util.spec_from_file_location('opacus_rdp', path)
      rdp = importlib.util.module_from_spec(spec); spec.loader.exec_module(rdp)
      orders = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
      for line in sys.stdin.read().split('\\n'):
          q, s, t, d = line.split(); q, s, t, d = float(q), float(s), int(t), float(d)
          r = rdp.compute_rdp(q=q, noise_multiplier=s, steps=t, orders=orders)
          e, o = rdp.get_privacy_spent(orders=orders, rdp=r, delta=d)
          print(repr(float(e)), repr(float(o)))
      """
    let lines = try ReferencePython.run(["-c", script], input: Array(input.utf8)).split(separator: "\n")
    try #require(lines.count == cases.count)
    for (c, line) in zip(cases, lines) {
      let parts = line.split(separator: " ").compactMap { Double($0) }
      var a = try RDPAccountant()
      try a.compose(sampleRate: c.q, sigma: c.sigma, steps: c.steps)
      let (epsilon, order) = try a.epsilon(delta: c.delta)
      #expect(abs(epsilon - parts[0]) <= 1e-6 * max(1, parts[0]), "q \(c.q) σ \(c.sigma) T \(c.steps): \(epsilon) vs Opacus \(parts[0])")
      #expect(order == parts[1], "q \(c.q) σ \(c.sigma) T \(c.steps): order \(order ?? .nan) vs Opacus \(parts[1])")
    }
  }

  /// The σ found for a target ε spends at most that ε, and 0.1% less noise would spend more.
  @Test func noiseMultiplierForATarget() throws {
    for target in [0.5, 1.0, 3.0, 8.0] {
      let sigma = try RDPAccountant.noiseMultiplier(targetEpsilon: target, delta: 1e-5, sampleRate: 0.01, steps: 1000)
      func eps(_ s: Double) throws -> Double {
        var a = try RDPAccountant()
        try a.compose(sampleRate: 0.01, sigma: s, steps: 1000)
        return try a.epsilon(delta: 1e-5).epsilon
      }
      #expect(try eps(sigma) <= target)
      #expect(try eps(sigma * 0.999) > target)
    }
  }

  @Test func badInputIsRefusedWithTheReason() throws {
    var a = try RDPAccountant()
    #expect(throws: RDPAccountant.Error.self) { try a.compose(sampleRate: 1.5, sigma: 1, steps: 1) }
    #expect(throws: RDPAccountant.Error.self) { try a.compose(sampleRate: .nan, sigma: 1, steps: 1) }
    #expect(throws: RDPAccountant.Error.self) { try a.compose(sampleRate: 0.1, sigma: -1, steps: 1) }
    #expect(throws: RDPAccountant.Error.self) { try a.compose(sampleRate: 0.1, sigma: .infinity, steps: 1) }
    #expect(throws: RDPAccountant.Error.self) { try a.compose(sampleRate: 0.1, sigma: 1, steps: -1) }
    #expect(throws: RDPAccountant.Error.self) { try a.epsilon(delta: 0) }
    #expect(throws: RDPAccountant.Error.self) { try a.epsilon(delta: 1) }
    #expect(throws: RDPAccountant.Error.self) { try RDPAccountant(orders: [2, 1]) }
    #expect(throws: RDPAccountant.Error.self) { try RDPAccountant(orders: []) }
    #expect(throws: RDPAccountant.Error.self) {
      try RDPAccountant.noiseMultiplier(targetEpsilon: 0, delta: 1e-5, sampleRate: 0.01, steps: 10)
    }
    // No noise: no finite ε, and no order is claimed.
    try a.compose(sampleRate: 0.1, sigma: 0, steps: 1)
    let (epsilon, order) = try a.epsilon(delta: 1e-5)
    #expect(epsilon == .infinity && order == nil)
  }
}
