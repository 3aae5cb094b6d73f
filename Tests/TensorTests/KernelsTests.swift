import Foundation
import Testing
@testable import Tensor

@Suite struct KernelsTests {
  /// By hand: 3² + 4² = 25; 1e30² = 1e60 (a Float block overflow redone in Double); NaN/Inf → nil;
  /// and a random vector against a plain Double loop.
  @Test func sumOfSquares() {
    #expect(Kernels.sumOfSquares([3, 4], count: 2) == 25)
    let big: [Float] = [1e30] + [Float](repeating: 1, count: 600)
    #expect(abs(Kernels.sumOfSquares(big, count: big.count)! - (1e60 + 600)) / 1e60 < 1e-6)
    var v = [Float](repeating: 0.5, count: 1237)
    #expect(Kernels.sumOfSquares(v, count: v.count) == 1237 * 0.25)
    v[700] = .nan
    #expect(Kernels.sumOfSquares(v, count: v.count) == nil)
    v[700] = -.infinity
    #expect(Kernels.sumOfSquares(v, count: v.count) == nil)
    var rng = RandomStream(seed: 4)
    let r = (0..<5000).map { _ in Float(rng.nextNormal()) }
    let exact = r.reduce(0.0) { $0 + Double($1) * Double($1) }
    #expect(abs(Kernels.sumOfSquares(r, count: r.count)! - exact) / exact < 1e-6)
  }

  @Test func biasAddAndGradient() {
    var y: [Float] = [1, 2, 3, 4, 5, 6]  // 2×3
    Kernels.addBias(&y, rows: 2, cols: 3, bias: [10, 20, 30])
    #expect(y == [11, 22, 33, 14, 25, 36])
    var db: [Float] = [9, 9, 9]
    Kernels.biasGradient([1, 2, 3, 4, 5, 6], rows: 2, cols: 3, into: &db)
    #expect(db == [5, 7, 9])
  }

  @Test func reluForwardBackward() {
    let x: [Float] = [-1, 0, 2, -3, 4]
    var y = [Float](repeating: 9, count: 5)
    Kernels.relu(x, &y, count: 5)
    #expect(y == [0, 0, 2, 0, 4])
    var dx = [Float](repeating: 9, count: 5)
    Kernels.reluBackward(output: y, [1, 1, 1, 1, 1], &dx, count: 5)
    #expect(dx == [0, 0, 1, 0, 1])
  }

  @Test func softmaxCrossEntropyWorkedExample() {
    // logits [1, 2, 3], label 2: loss = log(e¹+e²+e³) − 3 = 0.40760596 (by hand, in Python's math module)
    // softmax = [0.09003057, 0.24472847, 0.66524096]; gradient = softmax − onehot.
    var g = [Float](repeating: 0, count: 3)
    let loss = Kernels.softmaxCrossEntropy(logits: [1, 2, 3], labels: [2], rows: 1, classes: 3, gradient: &g)
    #expect(abs(loss - 0.40760596) < 1e-6)
    let expected: [Float] = [0.09003057, 0.24472847, 0.66524096 - 1]
    #expect(Reference.maxRelativeError(g, expected) < 1e-6)
  }

  @Test func softmaxCrossEntropyIsStableForHugeLogits() {
    var g = [Float](repeating: 0, count: 4)
    let loss = Kernels.softmaxCrossEntropy(logits: [1000, 0, -1000, 0], labels: [0, 1], rows: 2, classes: 2, gradient: &g)
    // Row 1: loss ≈ 0; row 2: logits [−1000, 0], label 1: loss ≈ 0. Mean gradient divided by 2 rows.
    #expect(loss.isFinite && loss < 1e-6)
    #expect(g.allSatisfy { $0.isFinite })
    #expect(g == [0, 0, 0, 0])
  }

  @Test func softmaxCrossEntropyMatchesNaiveDouble() {
    let rows = 5, classes = 7
    let logits = Reference.random(rows * classes, seed: 5).map { $0 * 4 }
    let labels: [Int32] = [0, 6, 3, 3, 1]
    var g = [Float](repeating: 0, count: rows * classes)
    let loss = Kernels.softmaxCrossEntropy(logits: logits, labels: labels, rows: rows, classes: classes, gradient: &g)
    var expectedLoss = 0.0
    var expectedGrad = [Float](repeating: 0, count: rows * classes)
    for r in 0..<rows {
      let z = (0..<classes).map { Double(logits[r * classes + $0]) }
      let s = z.map { exp($0) }.reduce(0, +)
      expectedLoss += log(s) - z[Int(labels[r])]
      for j in 0..<classes {
        expectedGrad[r * classes + j] = Float((exp(z[j]) / s - (j == Int(labels[r]) ? 1 : 0)) / Double(rows))
      }
    }
    #expect(abs(loss - expectedLoss) < 1e-4)
    #expect(Reference.maxRelativeError(g, expectedGrad) < 1e-5)
  }

  @Test func argmaxTiesGoLow() {
    var out = [Int32](repeating: -1, count: 2)
    Kernels.argmaxRows([1, 3, 3, 0, -1, -2], rows: 2, cols: 3, into: &out)
    #expect(out == [1, 0])
  }

  @Test func maxPoolMatchesNaiveAndRoutesGradients() {
    let b = 2, h = 5, w = 4, c = 3  // odd height: last row dropped
    let x = Reference.random(b * h * w * c, seed: 8)
    let oh = h / 2, ow = w / 2
    var y = [Float](repeating: 0, count: b * oh * ow * c)
    var arg = [Int32](repeating: 0, count: y.count)
    Kernels.maxPool2(x, batch: b, height: h, width: w, channels: c, &y, argmax: &arg)
    var expected = [Float](repeating: 0, count: y.count)
    for n in 0..<b {
      for i in 0..<oh {
        for j in 0..<ow {
          for ch in 0..<c {
            var m = -Float.infinity
            for di in 0..<2 { for dj in 0..<2 { m = max(m, x[((n * h + 2 * i + di) * w + 2 * j + dj) * c + ch]) } }
            expected[((n * oh + i) * ow + j) * c + ch] = m
          }
        }
      }
    }
    #expect(y == expected)
    // Backward: every output gradient lands on exactly the input that won.
    let dy = (0..<y.count).map { Float($0 + 1) }
    var dx = [Float](repeating: 7, count: x.count)
    Kernels.maxPool2Backward(dy, argmax: arg, outputCount: y.count, &dx, inputCount: x.count)
    #expect(dx.reduce(0, +) == dy.reduce(0, +))
    for k in 0..<y.count { #expect(x[Int(arg[k])] == y[k] && dx[Int(arg[k])] == dy[k]) }
  }

  /// With 37 channels and values full of ties: the maximum, and as its index the first of the
  /// window's inputs (row-major) that holds it — the rule the backward pass routes gradients by.
  @Test func maxPoolOverManyChannelsKeepsTheFirstWinner() {
    let b = 2, h = 6, w = 5, c = 37
    let x = Reference.random(b * h * w * c, seed: 9).map { ($0 * 4).rounded() / 4 }  // quarters: many ties
    let oh = h / 2, ow = w / 2
    var y = [Float](repeating: 0, count: b * oh * ow * c)
    var arg = [Int32](repeating: 0, count: y.count)
    Kernels.maxPool2(x, batch: b, height: h, width: w, channels: c, &y, argmax: &arg)
    var ties = 0
    for n in 0..<b {
      for i in 0..<oh {
        for j in 0..<ow {
          for ch in 0..<c {
            let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map { ((n * h + 2 * i + $0.0) * w + 2 * j + $0.1) * c + ch }
            let m = window.map { x[$0] }.max()!
            if window.filter({ x[$0] == m }).count > 1 { ties += 1 }
            let k = ((n * oh + i) * ow + j) * c + ch
            #expect(y[k] == m && arg[k] == Int32(window.first { x[$0] == m }!), "output \(k)")
          }
        }
      }
    }
    #expect(ties > 20)
  }

  /// im2col + GEMM equals a direct 6-loop convolution; col2im is the adjoint of im2col.
  @Test func convolutionByIm2colMatchesDirectLoops() {
    let g = ConvGeometry(height: 6, width: 5, inChannels: 2, kernelHeight: 3, kernelWidth: 2, outChannels: 4)
    let batch = 2
    let x = Reference.random(batch * g.inputSize, seed: 11)
    let wts = Reference.random(g.weightCount, seed: 12)
    let rows = batch * g.outHeight * g.outWidth
    var cols = [Float](repeating: 0, count: rows * g.patchSize)
    g.im2col(x, batch: batch, into: &cols)
    let y = Reference.gemm(cols, wts, m: rows, n: g.outChannels, k: g.patchSize, ta: false, tb: true)
    var direct = [Float](repeating: 0, count: batch * g.outputSize)
    for n in 0..<batch {
      for i in 0..<g.outHeight {
        for j in 0..<g.outWidth {
          for o in 0..<g.outChannels {
            var s: Float = 0
            for ki in 0..<3 {
              for kj in 0..<2 {
                for c in 0..<2 {
                  s += x[((n * 6 + i + ki) * 5 + j + kj) * 2 + c] * wts[((o * 3 + ki) * 2 + kj) * 2 + c]
                }
              }
            }
            direct[((n * g.outHeight + i) * g.outWidth + j) * g.outChannels + o] = s
          }
        }
      }
    }
    #expect(Reference.maxRelativeError(y, direct) < 1e-5)

    // Adjoint: <im2col(x), c> == <x, col2im(c)>
    let c = Reference.random(cols.count, seed: 13)
    var back = [Float](repeating: 0, count: x.count)
    g.col2im(c, batch: batch, into: &back)
    let lhs = zip(cols, c).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    let rhs = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    #expect(abs(lhs - rhs) < 1e-4 * max(1, abs(lhs)))
  }
}
