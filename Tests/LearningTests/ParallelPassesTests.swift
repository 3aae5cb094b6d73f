import Testing
@testable import Data
@testable import Learning
@testable import Tensor

/// A batch split into passes on threads (`Network.parallelPasses`) gives the mean gradient: the
/// size-weighted average of each part's gradient computed alone, and (up to float rounding) the
/// whole batch's; run to run it is bit-identical.
@Suite struct ParallelPassesTests {
  let mnist = ImageShape(height: 28, width: 28, channels: 1)

  func check(_ spec: ModelSpec, batch: Int, passes: Int) {
    let (x, y) = GradientCheckTests.inputs(mnist, batch: batch, seed: 21)
    let parallel = spec.makeNetwork(input: mnist, classes: 10, seed: 3)
    parallel.parallelPasses = passes
    let loss = parallel.lossAndGradient(x, labels: y, batch: batch)
    let g = parallel.gradients
    // Again: the same bits.
    let again = parallel.lossAndGradient(x, labels: y, batch: batch)
    #expect(again == loss && parallel.gradients == g)

    // Each part alone on a plain network (parts as documented: contiguous, the first b mod k one larger).
    let serial = spec.makeNetwork(input: mnist, classes: 10, seed: 3)
    var expected = [Double](repeating: 0, count: serial.parameterCount)
    var expectedLoss = 0.0
    var start = 0
    for i in 0..<passes {
      let count = batch / passes + (i < batch % passes ? 1 : 0)
      let l = x.withUnsafeBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in
          serial.lossAndGradient(xp.baseAddress! + start * mnist.size, labels: yp.baseAddress! + start, batch: count)
        }
      }
      let w = Double(count) / Double(batch)
      expectedLoss += w * l
      for j in expected.indices { expected[j] += w * Double(serial.gradients[j]) }
      start += count
    }
    #expect(abs(loss - expectedLoss) <= 1e-6 * max(1, abs(expectedLoss)))
    var worst = 0.0
    for j in expected.indices { worst = max(worst, abs(Double(g[j]) - expected[j]) / (1e-4 + abs(expected[j]))) }
    #expect(worst < 1e-4, "largest relative difference \(worst)")

    // The whole batch in one pass: the same mean gradient up to rounding.
    serial.lossAndGradient(x, labels: y, batch: batch)
    let whole = serial.gradients
    var far = 0.0
    for j in whole.indices { far = max(far, abs(Double(g[j]) - Double(whole[j])) / (1e-3 + abs(Double(whole[j])))) }
    #expect(far < 1e-3, "largest relative difference to the whole batch \(far)")
  }

  @Test func cnnInTwoPasses() { check(ModelSpec(kind: .cnn), batch: 32, passes: 2) }
  @Test func mlpInThreeUnevenPasses() { check(ModelSpec(kind: .mlp, hidden: [64]), batch: 50, passes: 3) }
  @Test func smallBatchesAreNotSplit() {
    let net = ModelSpec(kind: .mlp, hidden: [16]).makeNetwork(input: mnist, classes: 10, seed: 3)
    let plain = ModelSpec(kind: .mlp, hidden: [16]).makeNetwork(input: mnist, classes: 10, seed: 3)
    net.parallelPasses = 2
    let (x, y) = GradientCheckTests.inputs(mnist, batch: 15, seed: 2)
    #expect(net.lossAndGradient(x, labels: y, batch: 15) == plain.lossAndGradient(x, labels: y, batch: 15))
    #expect(net.gradients == plain.gradients)
  }
}
