import Foundation
import Learning
import Tensor

/// Reconstructing a batch by gradient matching — what a curious coordinator does when no closed
/// form applies (`GradientLeakage` is the closed form for a first dense layer):
///
/// - `.cosine`: Geiping, Bauermeister, Dröge & Moeller, "Inverting Gradients — How easy is it to
///   break privacy in federated learning?", NeurIPS 2020: minimise
///   1 − ⟨∇θℓ(x′, y), g⟩ / (‖∇θℓ(x′, y)‖ ‖g‖) + α·TV(x′) over x′ ∈ [0, 1] with Adam, its step
///   cut tenfold at 3/8, 5/8 and 7/8 of the iterations (their schedule).
/// - `.l2`: Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019 (DLG): minimise
///   ‖∇θℓ(x′, y) − g‖², with labels from iDLG (Zhao et al. 2020) as iDLG prescribes.
///
/// Variants (stated): the labels are iDLG's label set (sorted, repeated to fill the batch), not
/// optimised (DLG) or assumed known (Geiping et al.); both losses are minimised with Adam and a
/// projection onto [0, 1] (DLG used L-BFGS; Geiping et al. Adam on the signed gradient); TV is
/// the anisotropic mean absolute difference of neighbouring pixels. ByzSim has no second-order
/// automatic differentiation, so the matching loss's gradient in x′ — (∂g/∂x′)ᵀ v with
/// v = ∂loss/∂g — is taken by symmetry of mixed partials as ∇ₓ′ of the directional derivative
/// of ℓ along v in parameter space, by central differences:
/// [∇ₓ′ℓ(x′; θ + εv) − ∇ₓ′ℓ(x′; θ − εv)] / 2ε, with ‖εv‖ = `step` (two input-gradient passes).
/// A FedAvg update of K local steps is matched as one gradient at the starting model (the
/// cosine ignores its scale; Geiping et al. unroll the steps instead).
public enum GradientInversion {
  public enum Loss: String, Sendable, CaseIterable { case cosine, l2 }

  public struct Settings: Sendable {
    public var loss: Loss = .cosine
    public var iterations = 300
    public var learningRate: Float = 0.1
    /// α, the total-variation weight (0: no prior).
    public var totalVariation: Float = 1e-2
    /// ‖εv‖: the parameter-space step of the central difference.
    public var step: Float = 1e-2
    public var seed: UInt64 = 1
    public init() {}
  }

  public struct Result: Sendable {
    /// The reconstructed batch (batch × inputSize), pixels in [0, 1].
    public var inputs: [Float]
    /// The matching loss (without the prior) at the returned inputs.
    public var loss: Double
  }

  /// The matching loss of gradient `g` against the target `t`, and its gradient v in g.
  public static func matching(_ g: [Float], _ t: [Float], loss: Loss) -> (value: Double, v: [Float]) {
    switch loss {
    case .l2:
      var s = 0.0
      var v = [Float](repeating: 0, count: g.count)
      for i in g.indices {
        let d = g[i] - t[i]
        s += Double(d) * Double(d)
        v[i] = 2 * d
      }
      return (s, v)
    case .cosine:
      var gt = 0.0, gg = 0.0, tt = 0.0
      for i in g.indices {
        gt += Double(g[i]) * Double(t[i]); gg += Double(g[i]) * Double(g[i]); tt += Double(t[i]) * Double(t[i])
      }
      let gn = gg.squareRoot(), tn = tt.squareRoot()
      guard gn > 0, tn > 0 else { return (1, [Float](repeating: 0, count: g.count)) }
      let c = gt / (gn * tn)
      // ∂(1 − c)/∂g = −t/(‖g‖‖t‖) + c·g/‖g‖².
      let a = -1 / (gn * tn), b = c / gg
      return (1 - c, g.indices.map { Float(a * Double(t[$0]) + b * Double(g[$0])) })
    }
  }

  /// TV(x) of `batch` images of `height` × `width` × `channels` (channel-last, every channel), as the mean absolute
  /// difference of horizontal and vertical neighbours, and its subgradient added into `grad`
  /// scaled by `weight`.
  public static func totalVariation(
    _ x: [Float], batch: Int, height: Int, width: Int, channels: Int = 1, weight: Float, into grad: inout [Float]
  ) -> Double {
    let d = x.count / batch
    let pairs = Float(batch * channels * (height * (width - 1) + (height - 1) * width))
    var tv = 0.0
    for b in 0..<batch {
      let o = b * d
      for r in 0..<height {
        for c in 0..<width {
          for k in 0..<channels {
            let i = o + (r * width + c) * channels + k
            for j in [c + 1 < width ? i + channels : -1, r + 1 < height ? i + width * channels : -1] where j >= 0 {
              let diff = x[j] - x[i]
              tv += Double(abs(diff))
              let s: Float = diff > 0 ? 1 : (diff < 0 ? -1 : 0)
              grad[j] += weight * s / pairs
              grad[i] -= weight * s / pairs
            }
          }
        }
      }
    }
    return tv / Double(pairs)
  }

  /// The matching loss at inputs `x` and its gradient in `x` (see the type's note: central
  /// differences of input gradients along v in parameter space). The parameters are restored.
  public static func matchingGradient(
    _ x: [Float], labels: [Int32], target: [Float], network: Network, settings: Settings
  ) -> (value: Double, gradient: [Float]) {
    let batch = labels.count
    let theta = network.parameters
    network.lossAndGradient(x, labels: labels, batch: batch)
    let (value, v) = matching(network.gradients, target, loss: settings.loss)
    let vn = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    var grad = [Float](repeating: 0, count: x.count)
    guard vn > 0 else { return (value, grad) }
    var plus = grad, minus = grad
    let eps = Double(settings.step) / vn
    network.parameters = zip(theta, v).map { $0 + Float(eps) * $1 }
    network.inputGradients(x, labels: labels, batch: batch, into: &plus)
    network.parameters = zip(theta, v).map { $0 - Float(eps) * $1 }
    network.inputGradients(x, labels: labels, batch: batch, into: &minus)
    network.parameters = theta
    // inputGradients gives each sample's gradient of its own loss; the target is the mean's.
    let scale = Float(1 / (2 * eps * Double(batch)))
    for i in grad.indices { grad[i] = (plus[i] - minus[i]) * scale }
    return (value, grad)
  }

  /// Reconstructs `labels.count` inputs whose mean gradient on `network` (at its current
  /// parameters, which are restored bit for bit) matches `target`.
  public static func reconstruct(
    target: [Float], labels: [Int32], network: Network, shape: ImageShape, settings: Settings
  ) -> Result {
    let batch = labels.count, d = network.inputSize
    precondition(target.count == network.parameterCount && batch > 0, "a target gradient of the network, and at least one label")
    var rng = RandomStream(seed: settings.seed, purpose: .attack, 0x4947)
    var x = (0..<(batch * d)).map { _ in rng.nextFloat() }
    var m = [Float](repeating: 0, count: x.count), s = m
    var best = (loss: Double.infinity, inputs: x)
    for t in 1...max(1, settings.iterations) {
      var (value, grad) = matchingGradient(x, labels: labels, target: target, network: network, settings: settings)
      if value < best.loss { best = (value, x) }
      if settings.totalVariation > 0 {
        _ = totalVariation(
          x, batch: batch, height: shape.height, width: shape.width, channels: shape.channels, weight: settings.totalVariation,
          into: &grad)
      }
      // Adam (Kingma & Ba 2015), its step cut tenfold at 3/8, 5/8 and 7/8 of the iterations
      // (Geiping et al.'s schedule), then the projection onto [0, 1].
      let n = max(1, settings.iterations)
      let cuts = [3, 5, 7].filter { t > n * $0 / 8 }.count
      let lr = settings.learningRate * pow(Float(0.1), Float(cuts))
      let b1: Float = 0.9, b2: Float = 0.999
      let c1 = 1 - pow(b1, Float(t)), c2 = 1 - pow(b2, Float(t))
      for i in x.indices {
        m[i] = b1 * m[i] + (1 - b1) * grad[i]
        s[i] = b2 * s[i] + (1 - b2) * grad[i] * grad[i]
        x[i] = min(1, max(0, x[i] - lr * (m[i] / c1) / ((s[i] / c2).squareRoot() + 1e-8)))
      }
    }
    network.lossAndGradient(x, labels: labels, batch: batch)
    let last = matching(network.gradients, target, loss: settings.loss).value
    return last < best.loss ? Result(inputs: x, loss: last) : Result(inputs: best.inputs, loss: best.loss)
  }
}
