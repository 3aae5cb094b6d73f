import Foundation
import Testing

@testable import Learning
@testable import Privacy
@testable import Tensor

/// Gradient matching (inverting gradients, DLG): the pieces by hand and numerically, then a
/// reconstruction on a small network.
struct GradientInversionTests {
  /// A 2×2 image [[0, 1], [1, 0]]: four neighbour pairs, each differing by 1 → TV = 4/4 = 1; each
  /// pixel's subgradient is ±2 pairs / 4 = ±0.5 (down where it is above its neighbours).
  @Test func totalVariationByHand() {
    var g = [Float](repeating: 0, count: 4)
    let tv = GradientInversion.totalVariation([0, 1, 1, 0], batch: 1, height: 2, width: 2, weight: 1, into: &g)
    #expect(tv == 1)
    #expect(g == [-0.5, 0.5, 0.5, -0.5])
  }

  /// The matching losses' gradients in g against central differences of the losses themselves;
  /// and by hand: cos([1, 0], [1, 1]) = 1/√2.
  @Test func matchingLossesAndTheirGradients() {
    let t: [Float] = [0.3, -1.2, 0.7, 2.0]
    let g: [Float] = [1.1, 0.4, -0.5, 0.9]
    #expect(abs(GradientInversion.matching([1, 0], [1, 1], loss: .cosine).value - (1 - 1 / 2.0.squareRoot())) < 1e-12)
    #expect(GradientInversion.matching([1, 0], [1, 1], loss: .l2).value == 1)
    for loss in GradientInversion.Loss.allCases {
      let v = GradientInversion.matching(g, t, loss: loss).v
      for i in g.indices {
        var a = g, b = g
        a[i] += 1e-3; b[i] -= 1e-3
        let numeric = (GradientInversion.matching(a, t, loss: loss).value - GradientInversion.matching(b, t, loss: loss).value) / 2e-3
        #expect(abs(numeric - Double(v[i])) < 1e-3, "\(loss) coordinate \(i): \(numeric) vs \(v[i])")
      }
    }
  }

  func smallNetwork() -> (Network, x: [Float], y: [Int32], target: [Float]) {
    let net = Network(layers: [Dense(inputs: 16, outputs: 12), ReLU(size: 12), Dense(inputs: 12, outputs: 3)], seed: 7)
    var rng = RandomStream(seed: 3)
    let x = (0..<16).map { _ in rng.nextFloat() }, y: [Int32] = [2]
    net.lossAndGradient(x, labels: y, batch: 1)
    return (net, x, y, net.gradients)
  }

  /// The matching loss's gradient in x (central differences along v in parameter space) against
  /// central differences of the loss in x itself; the parameters come back bit for bit.
  @Test func matchingGradientInTheInput() {
    let (net, _, y, target) = smallNetwork()
    let before = net.parameters
    var rng = RandomStream(seed: 11)
    let x0 = (0..<16).map { _ in 0.2 + 0.6 * rng.nextFloat() }
    for loss in GradientInversion.Loss.allCases {
      var settings = GradientInversion.Settings()
      settings.loss = loss
      let (_, grad) = GradientInversion.matchingGradient(x0, labels: y, target: target, network: net, settings: settings)
      #expect(net.parameters == before)
      func value(_ x: [Float]) -> Double {
        net.lossAndGradient(x, labels: y, batch: 1)
        return GradientInversion.matching(net.gradients, target, loss: loss).value
      }
      let scale = grad.map { abs($0) }.max()!
      for i in [0, 5, 9, 15] {
        var a = x0, b = x0
        a[i] += 1e-2; b[i] -= 1e-2
        let numeric = (value(a) - value(b)) / 2e-2
        #expect(abs(numeric - Double(grad[i])) < 0.05 * Double(scale), "\(loss) x[\(i)]: \(numeric) vs \(grad[i])")
      }
    }
  }

  /// DLG from a one-sample gradient finds the input (this network's first layer has a bias, so
  /// the input is determined); the parameters are unchanged afterwards.
  @Test func dlgRecoversOneInput() {
    let (net, x, y, target) = smallNetwork()
    let before = net.parameters
    var settings = GradientInversion.Settings()
    settings.loss = .l2
    settings.iterations = 1500
    settings.totalVariation = 0
    let r = GradientInversion.reconstruct(
      target: target, labels: y, network: net, shape: ImageShape(height: 4, width: 4, channels: 1), settings: settings)
    #expect(net.parameters == before)
    #expect(GradientLeakage.psnr(r.inputs, x) > 40, "PSNR \(GradientLeakage.psnr(r.inputs, x)), loss \(r.loss)")
  }
}
