import Testing
@testable import Tensor

@Suite struct RandomStreamTests {
  /// Reference outputs of xoshiro256** from state {1, 2, 3, 4}, computed with an independent
  /// Python transcription of Blackman & Vigna's C code.
  @Test func xoshiroMatchesReference() {
    var r = RandomStream(rawState: (1, 2, 3, 4))
    let expected: [UInt64] = [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240, 1_216_172_134_540_287_360]
    #expect((0..<5).map { _ in r.next() } == expected)
  }

  /// SplitMix64 from state 0: the first outputs published with the algorithm.
  @Test func splitMixMatchesReference() {
    var s = SplitMix64(state: 0)
    #expect(s.next() == 0xe220_a839_7b1d_cdaf)
    #expect(s.next() == 0x6e78_9e6a_a1b9_65f4)
  }

  @Test func derivedStreamsAreDeterministicAndDistinct() {
    var a = RandomStream(seed: 42, 1, 2), b = RandomStream(seed: 42, 1, 2)
    var c = RandomStream(seed: 42, 2, 1), d = RandomStream(seed: 43, 1, 2)
    let sa = (0..<4).map { _ in a.next() }
    #expect(sa == (0..<4).map { _ in b.next() })
    #expect(sa != (0..<4).map { _ in c.next() })
    #expect(sa != (0..<4).map { _ in d.next() })
  }

  @Test func boundedIntegersAreInRangeAndRoughlyUniform() {
    var r = RandomStream(seed: 1)
    var counts = [Int](repeating: 0, count: 7)
    let n = 70_000
    for _ in 0..<n { counts[r.nextInt(below: 7)] += 1 }
    // χ² with 6 degrees of freedom; 22.46 is the 0.999 quantile.
    let e = Double(n) / 7
    let chi2 = counts.reduce(0.0) { $0 + (Double($1) - e) * (Double($1) - e) / e }
    #expect(chi2 < 22.46)
  }

  @Test func normalAndGammaMoments() {
    var r = RandomStream(seed: 2)
    let n = 50_000
    let xs = (0..<n).map { _ in r.nextNormal() }
    let mean = xs.reduce(0, +) / Double(n)
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
    #expect(abs(mean) < 0.02 && abs(variance - 1) < 0.03)
    for shape in [0.3, 1.0, 4.5] {
      let gs = (0..<n).map { _ in r.nextGamma(shape: shape) }
      let m = gs.reduce(0, +) / Double(n)  // Gamma(k, 1) has mean k and variance k
      #expect(abs(m - shape) < 0.05 * max(1, shape))
      #expect(gs.allSatisfy { $0 >= 0 })
    }
  }

  @Test func dirichletSumsToOneAndShuffleIsAPermutation() {
    var r = RandomStream(seed: 3)
    for alpha in [0.01, 1.0, 100.0] {
      let p = r.nextDirichlet(alpha: alpha, count: 10)
      #expect(abs(p.reduce(0, +) - 1) < 1e-9 && p.allSatisfy { $0 >= 0 })
    }
    let perm = r.permutation(1000)
    #expect(perm.sorted() == Array(0..<1000))
    #expect(perm != Array(0..<1000))
  }
}
