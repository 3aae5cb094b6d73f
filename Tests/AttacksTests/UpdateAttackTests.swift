import Testing
@testable import Attacks
@testable import Tensor

@Suite struct UpdateAttackTests {
  func craft(
    _ a: any UpdateAttack, own: [Int: [Float]], honest: [Int: [Float]]? = nil, n: Int = 10, seed: UInt64 = 1
  ) throws -> [Int: AttackOutput] {
    var attack = a
    var rng = RandomStream(seed: seed)
    return try attack.craft(AttackInput(round: 0, own: own, honest: honest, participants: n), rng: &rng)
  }
  func vec(_ o: AttackOutput?) -> [Float] { if case let .vector(v)? = o { return v }; return [] }

  @Test func signFlipScalingIPM() throws {
    #expect(vec(try craft(SignFlip(), own: [3: [1, -2]])[3]) == [-1, 2])
    #expect(vec(try craft(Scaling(gamma: 10), own: [3: [0.5, -0.25]])[3]) == [5, -2.5])
    // IPM: μ of [2,0] and [0,2] is [1,1]; ε = 0.5 → [−0.5, −0.5] for every attacker.
    let ipm = try craft(IPM(epsilon: 0.5), own: [1: [2, 0], 4: [0, 2]])
    #expect(vec(ipm[1]) == [-0.5, -0.5] && vec(ipm[4]) == [-0.5, -0.5])
  }

  /// z = Φ⁻¹((n − s)/n), s = ⌊n/2 + 1⌋ − f; reference values from SciPy's norm.ppf.
  @Test(arguments: [(50, 12, 0.5828415072712162), (25, 5, 0.4676987991145084)])
  func alieZ(n: Int, f: Int, z: Double) {
    #expect(abs(ALIE.z(n: n, f: f) - z) < 1e-9)
  }

  @Test func alieOutput() throws {
    // benign [0,0], [2,4]: μ = [1,2], σ = [1,2]; fixed z = 1 → [0, 0]; z = 0.5 → [0.5, 1].
    #expect(vec(try craft(ALIE(z: 1), own: [0: [0, 0], 1: [2, 4]])[0]) == [0, 0])
    #expect(vec(try craft(ALIE(z: 0.5), own: [0: [0, 0], 1: [2, 4]])[1]) == [0.5, 1])
    // Paper's z with n = 25 participants and the 5 attackers: μ − 0.4677σ.
    let own = Dictionary(uniqueKeysWithValues: (0..<5).map { ($0, [Float($0), 0]) })  // μ = [2,0], σ = [√2, 0]
    let out = vec(try craft(ALIE(), own: own, n: 25)[0])
    #expect(abs(Double(out[0]) - (2 - 0.4676987991145084 * 2.0.squareRoot())) < 1e-5)
  }

  @Test func gaussianFitsTheBenignMoments() throws {
    let out = try craft(GaussianAttack(), own: [0: [0, 2], 1: [2, 2]])
    for v in out.values.map(vec) { #expect(v[1] == 2) }
    var sum = 0.0
    for seed in 1...400 { sum += Double(vec(try craft(GaussianAttack(), own: [0: [0, 2], 1: [2, 2]], seed: UInt64(seed))[0])[0]) }
    #expect(abs(sum / 400 - 1) < 0.15)
  }

  /// benign [1,−1] and [3,−3]: μ = [2,−2]; coordinate 1 goes up → values in [wmin/2, wmin] = [0.5, 1];
  /// coordinate 2 goes down with wmax = −1 < 0 → values in [wmax, wmax/2] = [−1, −0.5].
  @Test func fangTrimFullKnowledge() throws {
    let out = try craft(FangTrim(full: true), own: [7: [0, 0], 8: [0, 0]], honest: [0: [1, -1], 1: [3, -3]])
    for v in out.values.map(vec) {
      #expect(v[0] >= 0.5 && v[0] <= 1 && v[1] >= -1 && v[1] <= -0.5)
    }
    // Partial: own μ = [2, −2], σ = [1, 1]: [μ−4σ, μ−3σ] = [−2, −1] and [μ+3σ, μ+4σ] = [1, 2].
    let p = try craft(FangTrim(full: false), own: [7: [1, -1], 8: [3, -3]])
    for v in p.values.map(vec) { #expect(v[0] >= -2 && v[0] <= -1 && v[1] >= 1 && v[1] <= 2) }
  }

  @Test func fangKrumIsSelectedByKrum() throws {
    var r = RandomStream(seed: 3)
    // Gradients: a small mean against a large spread, as in training.
    let honest = Dictionary(uniqueKeysWithValues: (0..<8).map { i in (i, (0..<20).map { _ in Float(0.1 + r.nextNormal()) }) })
    let own = [8: honest[0]!, 9: honest[1]!]
    let out = try craft(FangKrum(full: true), own: own, honest: honest, n: 10)
    let crafted = out.keys.sorted().map { vec(out[$0]) }
    let mu = (0..<20).map { j in honest.values.reduce(0.0) { $0 + Double($1[j]) } }
    #expect((0..<20).allSatisfy { Double(crafted[0][$0]) * mu[$0] <= 0 })  // −λ·sign(μ)
    #expect(crafted[0].contains { $0 != 0 })
    #expect(FangKrum.krumPicksCrafted(benign: honest.keys.sorted().map { honest[$0]! }, crafted: crafted, f: 2))
  }

  /// The λ search against a plain reading of Fang et al. 2020 in Double, without GEMM: λ₀ from
  /// the paper's bound (Eq. 5) over direct distances, halved until Krum (f = c) over the benign
  /// and crafted vectors — distances computed one coordinate at a time — picks a crafted one.
  /// The attack must submit −λ·sign(μ) (+ its noise) with that very λ, after at least one halving.
  @Test(arguments: [0.0, 0.01])
  func fangKrumTakesTheLambdaOfTheDirectSearch(epsilon: Double) throws {
    var r = RandomStream(seed: 11)
    let d = 20, c = 2, m = 10
    let honest = Dictionary(uniqueKeysWithValues: (0..<8).map { i in (i, (0..<d).map { _ in Float(0.2 + r.nextNormal()) }) })
    let out = try craft(FangKrum(full: true, epsilon: epsilon), own: [8: honest[0]!, 9: honest[1]!], honest: honest, n: m)
    let crafted = [vec(out[8]), vec(out[9])]
    let benign = (0..<8).map { honest[$0]!.map(Double.init) }
    let s = (0..<d).map { j in benign.reduce(0) { $0 + $1[j] } }.map { $0 > 0 ? 1.0 : ($0 < 0 ? -1.0 : 0) }
    func dist(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
    let sums = benign.indices.map { i in
      benign.indices.filter { $0 != i }.map { dist(benign[i], benign[$0]) }.sorted().prefix(m - c - 2).reduce(0, +)
    }
    let norms = benign.map { dist($0, [Double](repeating: 0, count: d)) }
    let lambda0 = sums.min()! / (Double(m - 2 * c - 1) * Double(d).squareRoot()) + norms.max()! / Double(d).squareRoot()
    // The first crafted vector has no noise: −λ·s. The second's noise is what it adds to that.
    let eta = (0..<d).map { Double(crafted[1][$0]) - Double(crafted[0][$0]) }
    var lambda = lambda0
    while lambda >= 1e-5 {
      let u0 = s.map { Float(-lambda * $0) }, u1 = (0..<d).map { Float(-lambda * s[$0] + eta[$0]) }
      if FangKrum.krumPicksCrafted(benign: honest.keys.sorted().map { honest[$0]! }, crafted: [u0, u1], f: c) { break }
      lambda /= 2
    }
    #expect(lambda < lambda0, "the example must make the search halve λ at least once")
    for j in 0..<d { #expect(crafted[0][j] == Float(-lambda * s[j]), "coordinate \(j)") }
    #expect(eta.allSatisfy { abs(abs($0) - epsilon / Double(d).squareRoot()) < 1e-6 })
  }

  /// Partial knowledge's simulated Krum, by hand on a line: a round of m = 6 updates, c = 2
  /// crafted, so m − c − 2 = 2 neighbours; known benign updates 0 and 1, each standing for
  /// (m − c)/2 = 2 benign ones (for a benign row, its 3 benign peers spread over 1 known other:
  /// weight 3). Crafted at 3 (both): squared distances b0–b1 1, b0–u 9, b1–u 4, u–u 0. Scores:
  /// b0 = 2·1 = 2, b1 = 2·1 = 2, u = 0 + 1·4 = 4 → a benign one; plain Krum over the 4 known
  /// vectors with 2 neighbours would score b0 = 1 + 9 = 10, b1 = 1 + 4 = 5, u = 0 + 4 = 4 → crafted.
  /// Crafted at 1.5: u = 0 + 1·0.25 = 0.25 against b1 = 0.25 + 0.25 = 0.5 → crafted.
  @Test func fangKrumPartialWeighsTheKnownBenignUpdates() {
    func dd(_ u: Double) -> [Double] {
      let x = [0, 1, u, u]
      return (0..<4).flatMap { i in (0..<4).map { j in (x[i] - x[j]) * (x[i] - x[j]) } }
    }
    #expect(!FangKrum.krumPicksCrafted(dd(3), benign: 2, crafted: 2, round: 6, neighbours: 2))
    #expect(FangKrum.krumPicksCrafted(dd(3), benign: 2, crafted: 2, round: 4, neighbours: 2))  // every benign known: plain Krum
    #expect(FangKrum.krumPicksCrafted(dd(1.5), benign: 2, crafted: 2, round: 6, neighbours: 2))
  }

  /// benign [0,0], [2,0]: μ = [1,0], σ = [1,0], std perturbation [−1, 0]; both conditions give γ = 1 → [0, 0].
  @Test func minMaxAndMinSum() throws {
    for sum in [false, true] {
      let v = vec(try craft(MinMax(sum: sum, perturbation: .std), own: [0: [0, 0], 1: [2, 0]])[0])
      #expect(abs(v[0]) < 1e-4 && v[1] == 0, "sum=\(sum): \(v)")
    }
  }

  /// The worked example of `AGRTailoredTrimmedMean` by hand: benign 0, 1, 2 (second coordinate
  /// constant 5, σ = 0), one attacker, β = 1. Any ∇m ≤ 0 drives the trimmed mean of the first
  /// coordinate to (0 + 1)/2 = 0.5, the largest deviation from ∇b = 1; the constant one stays 5.
  @Test func agrTailoredTrimmedMeanMaximisesTheDeviation() throws {
    let honest: [Int: [Float]] = [0: [0, 5], 1: [1, 5], 2: [2, 5]]
    let v = vec(try craft(AGRTailoredTrimmedMean(), own: [7: [1, 5]], honest: honest, n: 4)[7])
    #expect(v[0] <= 0 && v[1] == 5, "\(v)")
    let sorted = ([0, 1, 2] + [v[0]]).sorted()
    #expect((sorted[1] + sorted[2]) / 2 == 0.5)
    #expect(throws: AttackError.self) { try craft(AGRTailoredTrimmedMean(), own: [7: [1, 5]], n: 4) }
    #expect(throws: AttackError.self) { try craft(AGRTailoredTrimmedMean(f: 2), own: [7: [1, 5]], honest: honest, n: 4) }
  }

  @Test func mimicCopiesOneHonestWorkerAndKeepsIt() throws {
    var m: any UpdateAttack = Mimic()
    var rng = RandomStream(seed: 1)
    let honest: [Int: [Float]] = [0: [0, 0], 1: [1, 0], 2: [5, 0]]
    let a = try m.craft(AttackInput(round: 0, own: [3: [9, 9]], honest: honest, participants: 4), rng: &rng)
    #expect(vec(a[3]) == [5, 0])  // the farthest along the top principal direction
    let b = try m.craft(AttackInput(round: 1, own: [3: [9, 9]], honest: [0: [7, 7], 1: [0, 1], 2: [3, 3]], participants: 4), rng: &rng)
    #expect(vec(b[3]) == [3, 3])  // still worker 2
    #expect(throws: AttackError.self) { try craft(Mimic(), own: [3: [1]]) }
  }

  @Test func nonFiniteAndDrop() throws {
    #expect(vec(try craft(NonFinite(infinity: false), own: [0: [1, 2]])[0]).allSatisfy(\.isNaN))
    #expect(vec(try craft(NonFinite(infinity: true), own: [0: [1, 2]])[0]) == [.infinity, .infinity])
    #expect(try craft(SilentDrop(), own: [0: [1, 2]])[0] == .drop)
  }

  @Test func registryExplainsMistakes() {
    #expect(throws: AttackError.self) { try AttackRegistry.update("alie", ["zz": 1]) }
    #expect(throws: AttackError.self) { try AttackRegistry.update("nope", [:]) }
    #expect(throws: AttackError.self) { try AttackRegistry.data("targeted_flip", ["source": 1]) }
    #expect(throws: AttackError.self) { try AttackRegistry.data("backdoor", ["target": 12]) }
    for e in AttackRegistry.updateAttacks where e.name != "mimic" { #expect((try? AttackRegistry.update(e.name, [:])) != nil, "\(e.name)") }
  }
}
