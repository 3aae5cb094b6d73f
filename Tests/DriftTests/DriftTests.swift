import Foundation
import Testing
import TestSupport

@testable import Drift
@testable import Tensor

/// The offline detectors against the worked checks (computed by hand, see each test)
/// and SciPy 1.16.3 / NumPy 2.4.6 in the reference venv.
struct DriftTests {
  /// x = 1…10 against x + 3.5: the ECDFs differ most (4/10) between 4 and 4.5 and between 10
  /// and 10.5; the exact two-sided p-value is 0.41752365.
  @Test func ksWorkedCheck() {
    let x = (1...10).map(Double.init)
    let r = KolmogorovSmirnov.test(x, x.map { $0 + 3.5 })
    #expect(abs(r.statistic - 0.4) < 1e-12)
    #expect(abs(r.pValue - 0.417_523_65) < 1e-8)
    #expect(r.exact)
  }

  /// Proportions (0.1, 0.2, 0.3, 0.4) against (0.2, 0.2, 0.3, 0.3):
  /// 0.1·ln 2 + (−0.1)·ln(0.75) = 0.0980829.
  @Test func psiWorkedCheck() {
    let v = PSI.index(referenceCounts: [10, 20, 30, 40], currentCounts: [20, 20, 30, 30])
    #expect(abs(v - 0.098_082_9) < 1e-7)
  }

  /// {0, 1, 2} against {1, 2, 3}, σ = 1: within-sample means (2·(2e^−½ + e^−2))/6 each, cross
  /// mean (2 + 4e^−½ + 2e^−2 + e^−4.5)/9, so MMD² = −0.1472694.
  @Test func mmdWorkedCheck() {
    let r = MMD.test([[0], [1], [2]], [[1], [2], [3]], sigma: 1, permutations: 10)
    #expect(abs(r.statistic - (-0.147_269_4)) < 1e-7)
    #expect(r.pValue > 0 && r.pValue <= 1)
  }

  func sample(_ n: Int, seed: UInt64, shift: Double = 0, scale: Double = 1) -> [Double] {
    var r = RandomStream(seed: seed, purpose: .benchmark, 77)
    return (0..<n).map { _ in shift + scale * r.nextNormal() }
  }

  static func python(_ script: String, _ input: String) throws -> [[Double]] {
    let out = try ReferencePython.run(["-c", script], input: Array(input.utf8))
    return out.split(separator: "\n").map { $0.split(separator: " ").map { Double($0)! } }
  }

  static func line(_ v: [Double]) -> String { v.map { "\($0)" }.joined(separator: " ") }

  /// KS on pairs of samples of many sizes (exact), and the asymptotic branch, against SciPy.
  @Test func ksMatchesSciPy() throws {
    var cases: [([Double], [Double])] = []
    for (m, n, shift) in [(5, 7, 0.5), (20, 20, 0.0), (37, 50, 0.3), (200, 150, 0.1), (400, 1000, 0.05), (12, 3, 1.0)] {
      cases.append((sample(m, seed: UInt64(m)), sample(n, seed: UInt64(n) + 1000, shift: shift)))
    }
    let input = cases.map { Self.line($0.0) + "\n" + Self.line($0.1) }.joined(separator: "\n")
    let script = """
      import sys
      from scipy import stats
      lines = sys.stdin.read().split('\\n')
      for k in range(0, len(lines), 2):
          a = [float(v) for v in lines[k].split()]; b = [float(v) for v in lines[k + 1].split()]
          r = stats.ks_2samp(a, b, method='exact')
          print(repr(float(r.statistic)), repr(float(r.pvalue)))
      """
    let expected = try Self.python(script, input)
    for ((a, b), e) in zip(cases, expected) {
      let r = KolmogorovSmirnov.test(a, b)
      #expect(abs(r.statistic - e[0]) < 1e-12, "\(a.count)×\(b.count)")
      #expect(abs(r.pValue - e[1]) < 1e-9 + 1e-7 * e[1], "\(a.count)×\(b.count): p \(r.pValue) vs SciPy \(e[1])")
    }
    // Above 10,000 observations: Kolmogorov's limit, SciPy's kstwobign.
    let xs = [0.2, 0.5, 0.8, 1.0, 1.3, 2.0, 3.0]
    let limit = try Self.python(
      "import sys\nfrom scipy import stats\nfor x in sys.stdin.read().split(): print(repr(float(stats.kstwobign.sf(float(x)))))",
      xs.map { "\($0)" }.joined(separator: " "))
    for (x, e) in zip(xs, limit) {
      #expect(abs(KolmogorovSmirnov.kolmogorovSurvival(x) - e[0]) < 1e-12, "Q(\(x))")
    }
    let big = KolmogorovSmirnov.test(sample(10_001, seed: 1), sample(50, seed: 2, shift: 0.2))
    #expect(!big.exact)
  }

  @Test func chiSquareAndGammaMatchSciPy() throws {
    let tables: [([Double], [Double])] = [
      ([10, 20, 30, 40], [20, 20, 30, 30]), ([5, 0, 7], [3, 4, 0]), ([100, 120, 90, 80, 110], [98, 130, 70, 101, 100]), ([1, 1], [30, 2]),
    ]
    let input = tables.map { Self.line($0.0) + "\n" + Self.line($0.1) }.joined(separator: "\n")
    let script = """
      import sys
      import numpy as np
      from scipy import stats
      lines = sys.stdin.read().split('\\n')
      for k in range(0, len(lines), 2):
          t = np.array([[float(v) for v in lines[k].split()], [float(v) for v in lines[k + 1].split()]])
          t = t[:, t.sum(axis=0) > 0]
          r = stats.chi2_contingency(t, correction=False)
          print(repr(float(r.statistic)), repr(float(r.pvalue)), r.dof)
      """
    for ((a, b), e) in zip(tables, try Self.python(script, input)) {
      let r = ChiSquare.test(referenceCounts: a, currentCounts: b)
      #expect(abs(r.statistic - e[0]) < 1e-9 * max(1, e[0]))
      #expect(abs(r.pValue - e[1]) < 1e-12 + 1e-9 * e[1], "\(a) \(b): \(r.pValue) vs \(e[1])")
      #expect(Double(r.degreesOfFreedom) == e[2])
    }
    let points: [(Double, Double)] = [(0.5, 0.1), (1, 1), (2.5, 7), (10, 3), (10, 30), (50, 40), (0.5, 60), (200, 260)]
    let gamma = try Self.python(
      "import sys\nfrom scipy import special\nfor l in sys.stdin.read().split('\\n'):\n  a, x = map(float, l.split()); print(repr(float(special.gammaincc(a, x))))",
      points.map { "\($0.0) \($0.1)" }.joined(separator: "\n"))
    for ((a, x), e) in zip(points, gamma) {
      let q = SpecialFunctions.upperRegularizedGamma(a, x)
      #expect(abs(q - e[0]) < 1e-13 + 1e-10 * e[0], "Q(\(a), \(x)) = \(q) vs SciPy \(e[0])")
    }
  }

  /// PSI of samples (reference deciles) and MMD² with the median heuristic, against NumPy
  /// code written from the definitions.
  @Test func psiAndMMDMatchNumPy() throws {
    let a = sample(500, seed: 3), b = sample(300, seed: 4, shift: 0.4, scale: 1.3)
    let x = (0..<60).map { i in [sample(1, seed: UInt64(100 + i))[0], sample(1, seed: UInt64(200 + i))[0]] }
    let y = (0..<40).map { i in [sample(1, seed: UInt64(300 + i), shift: 0.5)[0], sample(1, seed: UInt64(400 + i))[0]] }
    let input = [Self.line(a), Self.line(b), Self.line(x.flatMap { $0 }), Self.line(y.flatMap { $0 })].joined(separator: "\n")
    let script = """
      import sys
      import numpy as np
      l = sys.stdin.read().split('\\n')
      a, b = np.array(l[0].split(), float), np.array(l[1].split(), float)
      edges = np.quantile(a, np.arange(1, 10) / 10)
      ra = np.bincount(np.searchsorted(edges, a, side='left'), minlength=10) / len(a)
      rb = np.bincount(np.searchsorted(edges, b, side='left'), minlength=10) / len(b)
      ra, rb = np.maximum(ra, 1e-4), np.maximum(rb, 1e-4)
      print(repr(float(np.sum((rb - ra) * np.log(rb / ra)))))
      X, Y = np.array(l[2].split(), float).reshape(-1, 2), np.array(l[3].split(), float).reshape(-1, 2)
      d = lambda P, Q: ((P[:, None, :] - Q[None, :, :]) ** 2).sum(-1)
      s2 = np.median(d(X, Y)) / 2
      k = lambda P, Q: np.exp(-d(P, Q) / (2 * s2))
      m, n = len(X), len(Y)
      kxx, kyy = k(X, X), k(Y, Y)
      mmd = (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * k(X, Y).mean()
      print(repr(float(mmd)), repr(float(np.sqrt(s2))))
      """
    let e = try Self.python(script, input)
    #expect(abs(PSI.index(reference: a, current: b) - e[0][0]) < 1e-12)
    let r = MMD.test(x, y, permutations: 200, seed: 1)
    #expect(abs(r.statistic - e[1][0]) < 1e-12)
    #expect(abs(r.sigma - e[1][1]) < 1e-12)
    // A shift of 1.5 standard deviations in both features: every permutation is below the
    // observed MMD², so p is its floor 1/201; a sample of the same distribution is not flagged.
    let far = (0..<40).map { i in [sample(1, seed: UInt64(700 + i), shift: 1.5)[0], sample(1, seed: UInt64(800 + i), shift: 1.5)[0]] }
    #expect(MMD.test(x, far, permutations: 200, seed: 1).pValue == 1.0 / 201)
    let same = MMD.test(x, (0..<40).map { i in [sample(1, seed: UInt64(500 + i))[0], sample(1, seed: UInt64(600 + i))[0]] }, seed: 1)
    #expect(same.pValue > 0.05)
  }
}
