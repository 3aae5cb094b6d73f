import Testing

@testable import Learning
@testable import Privacy
@testable import Tensor

/// The closed forms by hand: for one sample, ∂ℓ/∂W₁[k] = δ_k·x and ∂ℓ/∂b₁[k] = δ_k, so their
/// ratio is x; the last bias gradient p − onehot(y) is negative only at y.
struct GradientLeakageTests {
  @Test func oneSampleLeaksItsInputAndLabel() {
    let net = Network(layers: [Dense(inputs: 2, outputs: 3), ReLU(size: 3), Dense(inputs: 3, outputs: 2)], seed: 4)
    net.parameters = [0.5, -0.2, 0.3, 0.8, -0.6, 0.1, 0.1, 0.2, 0.3, 1.0, -1.0, 0.5, -0.5, 0.2, 0.4, 0.0, 0.0]
    let x: [Float] = [0.2, 0.7]
    net.lossAndGradient(x, labels: [1], batch: 1)
    let r = GradientLeakage.read(gradient: net.gradients, network: net)
    #expect(abs(r.input[0] - 0.2) < 1e-5 && abs(r.input[1] - 0.7) < 1e-5, "\(r.input)")
    #expect(r.labels == [1])
    #expect(GradientLeakage.psnr(r.input, x) > 80)
  }

  @Test func psnrByHand() {
    // MSE 0.01 → 20 dB; identical → ∞.
    #expect(abs(GradientLeakage.psnr([0.1, 0.1], [0.2, 0.0]) - 20) < 1e-5)  // Float32 pixels
    #expect(GradientLeakage.psnr([0.5], [0.5]) == .infinity)
  }
}
