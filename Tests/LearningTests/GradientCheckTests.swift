import Testing
@testable import Data
@testable import Learning
@testable import Tensor

/// Every model's full backward pass against central finite differences of the loss.
@Suite struct GradientCheckTests {
  static func inputs(_ shape: ImageShape, batch: Int, seed: UInt64) -> ([Float], [Int32]) {
    var r = RandomStream(seed: seed, 5)
    let x = (0..<(batch * shape.size)).map { _ in r.nextFloat() }
    let y = (0..<batch).map { _ in Int32(r.nextInt(below: 10)) }
    return (x, y)
  }

  func check(_ spec: ModelSpec, shape: ImageShape, batch: Int, probesPerLayer: Int) {
    let net = spec.makeNetwork(input: shape, classes: 10, seed: 9)
    let (x, y) = Self.inputs(shape, batch: batch, seed: 4)
    net.lossAndGradient(x, labels: y, batch: batch)
    let analytic = net.gradients
    var rng = RandomStream(seed: 17)
    let eps: Float = 3e-3
    var checked = 0
    for (layer, offset) in zip(net.layers, net.parameterOffsets) where layer.parameterCount > 0 {
      for _ in 0..<probesPerLayer {
        let i = offset + rng.nextInt(below: layer.parameterCount)
        let saved = net.parameters[i]
        net.parameters[i] = saved + eps
        let plus = lossOnly(net, x, y, batch)
        net.parameters[i] = saved - eps
        let minus = lossOnly(net, x, y, batch)
        net.parameters[i] = saved
        let numeric = (plus - minus) / Double(2 * eps)
        let g = Double(analytic[i])
        #expect(abs(numeric - g) <= 1e-3 + 0.05 * abs(g), "\(layer.summary) parameter \(i - offset): numeric \(numeric), analytic \(g)")
        checked += 1
      }
    }
    #expect(checked > 0)
  }

  func lossOnly(_ net: Network, _ x: [Float], _ y: [Int32], _ batch: Int) -> Double {
    let logits = net.forward(x, batch: batch)
    return Kernels.softmaxCrossEntropy(logits: logits, labels: y, rows: batch, classes: 10, gradient: nil) / Double(batch)
  }

  let mnist = ImageShape(height: 28, width: 28, channels: 1)

  @Test func logisticRegression() { check(ModelSpec(kind: .logreg), shape: mnist, batch: 4, probesPerLayer: 60) }
  @Test func mlp() { check(ModelSpec(kind: .mlp, hidden: [100]), shape: mnist, batch: 4, probesPerLayer: 60) }
  @Test func deepMLP() { check(ModelSpec(kind: .mlp, hidden: [32, 16]), shape: mnist, batch: 3, probesPerLayer: 40) }
  @Test func cnnOfFang() { check(ModelSpec(kind: .cnn), shape: mnist, batch: 2, probesPerLayer: 40) }

  /// Splitting a batch into micro-batches gives the same mean loss and gradient as one pass.
  @Test func microBatchesAverageToTheFullBatchGradient() {
    let net = ModelSpec(kind: .cnn).makeNetwork(input: mnist, classes: 10, seed: 2)
    let (x, y) = Self.inputs(mnist, batch: 13, seed: 6)
    net.microBatch = 64
    let fullLoss = net.lossAndGradient(x, labels: y, batch: 13)
    let full = net.gradients
    net.microBatch = 4  // 4 + 4 + 4 + 1
    let splitLoss = net.lossAndGradient(x, labels: y, batch: 13)
    #expect(abs(fullLoss - splitLoss) < 1e-5)
    var worst: Float = 0
    for (a, b) in zip(full, net.gradients) { worst = max(worst, abs(a - b) / (1e-3 + abs(a))) }
    #expect(worst < 1e-3)
  }

  /// The input gradient of a conv layer (used when it is not the first layer) against finite differences.
  @Test func convInputGradient() {
    let g = ConvGeometry(height: 5, width: 6, inChannels: 2, kernelHeight: 3, kernelWidth: 3, outChannels: 3)
    let conv = Conv2D(geometry: g)
    var rng = RandomStream(seed: 1)
    var p = [Float](repeating: 0, count: conv.parameterCount)
    p.withUnsafeMutableBufferPointer { conv.initialize($0, rng: &rng) }
    let x = (0..<(2 * g.inputSize)).map { _ in rng.nextFloat() - 0.5 }
    let dy = (0..<(2 * g.outputSize)).map { _ in rng.nextFloat() - 0.5 }
    // L = <conv(x), dy>, so dL/dx is exactly the backward's input gradient.
    func loss(_ x: [Float]) -> Double {
      var y = [Float](repeating: 0, count: 2 * g.outputSize)
      conv.forward(x, &y, batch: 2, parameters: p)
      return zip(y, dy).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    var y = [Float](repeating: 0, count: 2 * g.outputSize)
    conv.forward(x, &y, batch: 2, parameters: p)
    var dx = [Float](repeating: 0, count: x.count)
    var dp = [Float](repeating: 0, count: p.count)
    conv.backward(input: x, output: y, outputGradient: dy, inputGradient: &dx, batch: 2, parameters: p, gradients: &dp)
    for i in stride(from: 0, to: x.count, by: 7) {
      var xp = x, xm = x
      xp[i] += 1e-2; xm[i] -= 1e-2
      let numeric = (loss(xp) - loss(xm)) / 2e-2
      #expect(abs(numeric - Double(dx[i])) < 1e-3, "x[\(i)]: numeric \(numeric), analytic \(dx[i])")
    }
  }
}
