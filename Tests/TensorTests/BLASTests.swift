import Testing
@testable import Tensor

@Suite struct BLASTests {
  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func gemmMatchesNaiveLoop(ta: Bool, tb: Bool) {
    let m = 7, n = 5, k = 11
    let a = Reference.random(m * k, seed: 1), b = Reference.random(k * n, seed: 2)
    var c = [Float](repeating: 0, count: m * n)
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pc in
          BLAS.gemm(
            ta ? .transposed : .none, tb ? .transposed : .none, m: m, n: n, k: k,
            a: pa.baseAddress!, lda: ta ? m : k, b: pb.baseAddress!, ldb: tb ? k : n,
            c: pc.baseAddress!, ldc: n)
        }
      }
    }
    let expected = Reference.gemm(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
    #expect(Reference.maxRelativeError(c, expected) < 1e-5)
  }

  @Test func gemmAccumulatesWithBeta() {
    // 2×2 by hand: A = [[1,2],[3,4]], B = I, C₀ = [[1,1],[1,1]], alpha 2, beta 3 → 2A + 3C₀.
    let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
    var c: [Float] = [1, 1, 1, 1]
    BLAS.gemm(.none, .none, m: 2, n: 2, k: 2, alpha: 2, a: a, lda: 2, b: b, ldb: 2, beta: 3, c: &c, ldc: 2)
    #expect(c == [5, 7, 9, 11])
  }

  @Test func gemvAxpyDot() {
    let a: [Float] = [1, 2, 3, 4, 5, 6]  // 2×3
    let x: [Float] = [1, 0, -1]
    var y: [Float] = [0, 0]
    BLAS.gemv(.none, rows: 2, cols: 3, a: a, lda: 3, x: x, y: &y)
    #expect(y == [-2, -2])
    var z: [Float] = [1, 1, 1]
    BLAS.axpy(count: 3, alpha: 2, x: x, y: &z)
    #expect(z == [3, 1, -1])
    #expect(BLAS.dot(count: 3, a, x) == -2)
  }

  @Test func threadCountRoundTrips() {
    let before = BLAS.threads
    BLAS.threads = 1
    #expect(BLAS.threads == 1)
    BLAS.threads = before
  }
}
