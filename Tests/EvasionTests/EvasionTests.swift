import Foundation
import Testing

@testable import Evasion
@testable import Learning
@testable import Tensor

/// Worked examples by hand on a linear two-class model, where FGSM is the optimal L∞ attack
/// and PGD must reach the same corner of the ball.
struct EvasionTests {
  /// Dense 2→2 with w₀ = (2, −1), w₁ = (0, 0), no bias; x = (0.5, 0.5), label 0: the margin
  /// z₀ − z₁ = 2x₁ − x₂ = 0.5. The loss gradient is p₁(w₁ − w₀) = p₁·(−2, 1), so every L∞
  /// attack's best point is x + ε·(−1, +1), lowering the margin by 3ε: the input stays
  /// correct for ε < 1/6 and is flipped above (by hand).
  func linearModel() -> Network {
    let net = Network(layers: [Dense(inputs: 2, outputs: 2)], seed: 1)
    net.parameters = [2, -1, 0, 0, 0, 0]
    return net
  }

  @Test func fgsmAndPGDReachTheOptimalCorner() {
    let net = linearModel()
    for eps: Float in [0.1, 0.2] {
      for attack in [
        EvasionAttack(method: .fgsm, eps: eps), EvasionAttack(method: .pgd, eps: eps, steps: 10, randomStart: false),
        EvasionAttack(method: .pgd, eps: eps, steps: 20, restarts: 3, randomStart: true, seed: 4),
      ] {
        let out = attack.run(net, x: [0.5, 0.5], labels: [0])
        #expect(abs(out.adversarial[0] - (0.5 - eps)) < 1e-6 && abs(out.adversarial[1] - (0.5 + eps)) < 1e-6, "\(attack.method) ε \(eps)")
        #expect(out.cleanCorrect == 1)
        #expect(out.robustCorrect == (eps < 1.0 / 6 ? 1 : 0), "\(attack.method) ε \(eps)")
      }
    }
  }

  /// The box [0, 1] binds before the ball: x = (0.05, 0.95) with ε = 0.2 ends at (0, 1).
  @Test func theBoxBindsBeforeTheBall() {
    let out = EvasionAttack(method: .pgd, eps: 0.2, steps: 10).run(linearModel(), x: [0.05, 0.95], labels: [0])
    #expect(out.adversarial == [0, 1])
  }

  /// L2 PGD on the linear model: the best point is x + ε·(−2, 1)/√5 (the gradient's direction).
  @Test func l2PGDMovesAlongTheGradient() {
    let eps: Float = 0.1
    let out = EvasionAttack(method: .pgd, norm: .l2, eps: eps, steps: 30, randomStart: false).run(
      linearModel(), x: [0.5, 0.5], labels: [0])
    let s = Float(5).squareRoot()
    #expect(abs(out.adversarial[0] - (0.5 - 2 * eps / s)) < 1e-4 && abs(out.adversarial[1] - (0.5 + eps / s)) < 1e-4)
  }

  /// The input gradient of the whole batch equals finite differences of each sample's loss.
  @Test func inputGradientsMatchFiniteDifferences() {
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    for spec in [ModelSpec(kind: .mlp, hidden: [32]), ModelSpec(kind: .cnn)] {
      let net = spec.makeNetwork(input: shape, classes: 10, seed: 5)
      var r = RandomStream(seed: 9)
      let batch = 3
      let x = (0..<(batch * 784)).map { _ in r.nextFloat() }
      let y: [Int32] = [1, 4, 7]
      var g = [Float](repeating: 0, count: batch * 784)
      g.withUnsafeMutableBufferPointer { out in _ = net.inputGradients(x, labels: y, batch: batch, into: out.baseAddress!) }
      func loss(_ v: [Float], _ i: Int) -> Double {
        let logits = net.forward(Array(v[(i * 784)..<((i + 1) * 784)]), batch: 1)
        return Kernels.softmaxCrossEntropy(logits: logits, labels: [y[i]], rows: 1, classes: 10, gradient: nil)
      }
      for probe in 0..<30 {
        let i = probe % batch, j = r.nextInt(below: 784)
        var plus = x, minus = x
        plus[i * 784 + j] += 1e-2
        minus[i * 784 + j] -= 1e-2
        let numeric = (loss(plus, i) - loss(minus, i)) / 2e-2
        let analytic = Double(g[i * 784 + j])
        #expect(abs(numeric - analytic) <= 2e-3 + 0.05 * abs(analytic), "\(spec) sample \(i) pixel \(j): \(numeric) vs \(analytic)")
      }
    }
  }

  @Test func badSettingsAreNamed() {
    #expect(EvasionAttack(method: .fgsm, norm: .l2, eps: 0.1).problem != nil)
    #expect(EvasionAttack(method: .pgd, eps: .nan).problem != nil)
    #expect(EvasionAttack(method: .pgd, eps: 0.1, steps: 0).problem != nil)
    #expect(EvasionAttack(method: .pgd, eps: 0.1, restarts: 0).problem != nil)
    #expect(EvasionAttack(method: .pgd, eps: 0.1).problem == nil)
  }
}
