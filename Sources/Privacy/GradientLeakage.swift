import Foundation
import Learning
import Tensor

/// What an honest-but-curious coordinator reads out of a FedSGD update (the mean gradient of a
/// worker's batch):
///
/// - Labels (iDLG, Zhao et al. 2020, "iDLG: Improved Deep Leakage from Gradients"): the last
///   layer's bias gradient is the batch mean of p − onehot(y), negative exactly at a
///   one-sample batch's label; for larger batches the classes with a negative entry are taken
///   as the batch's labels (the set, as Wainakh et al.'s LLG starts from).
/// - Inputs: a first dense layer with a bias leaks its input exactly — row k of ∂ℓ/∂W divided
///   by ∂ℓ/∂b_k is x for one sample (Phong et al. 2018, "Privacy-Preserving Deep Learning via
///   Additively Homomorphic Encryption", §3.2; Geiping et al. 2020 prove it for any such layer);
///   for a batch it is a weighted mix of the inputs, taken at the row with the largest |∂ℓ/∂b_k|.
///   Gradient matching (DLG, inverting gradients) is `GradientInversion`.
public enum GradientLeakage {
  public struct Reading: Sendable {
    public let labels: Set<Int>
    public let input: [Float]
  }

  /// Reads a gradient of a network whose first layer is `Dense(d → h)` and whose last layer is
  /// a dense layer over `classes` outputs (ByzSim's MLP and logreg layouts).
  public static func read(gradient g: [Float], network: Network) -> Reading {
    let d = network.inputSize, h = network.layers[0].outputSize, classes = network.outputSize
    precondition(network.layers[0] is Dense, "gradient leakage reads a first dense layer")
    let lastOffset = network.parameterOffsets[network.layers.count - 1]
    let lastIn = network.layers[network.layers.count - 1].inputSize
    let bias = Array(g[(lastOffset + classes * lastIn)..<(lastOffset + classes * lastIn + classes)])
    var labels = Set(bias.indices.filter { bias[$0] < 0 })
    if labels.isEmpty, let k = bias.indices.min(by: { bias[$0] < bias[$1] }) { labels = [k] }
    // First layer: W (h × d) then b (h).
    let firstBias = Array(g[(h * d)..<(h * d + h)])
    let k = firstBias.indices.max { abs(firstBias[$0]) < abs(firstBias[$1]) }!
    guard firstBias[k] != 0 else { return Reading(labels: labels, input: [Float](repeating: 0, count: d)) }
    let row = g[(k * d)..<((k + 1) * d)]
    return Reading(labels: labels, input: row.map { min(1, max(0, $0 / firstBias[k])) })
  }

  /// Peak signal-to-noise ratio (dB) of a reconstruction of an image with pixels in [0, 1];
  /// ∞ for an exact copy.
  public static func psnr(_ a: [Float], _ b: [Float]) -> Double {
    let mse = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(1 / mse)
  }
}
