import ArgumentParser
import Data
import Foundation
import Learning
import Tensor

/// `byzsim-bench dp`: DP-SGD's throughput against non-private SGD on the same model, batch and
/// data in the same run (aim, issue 17: the MLP at batch 256 keeps at least half).
struct DPBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dp",
    abstract: "DP-SGD samples/s vs non-private SGD (aim: MLP, batch 256, at least 1/2).",
    discussion: """
      One epoch each over 16,384 synthetic 28×28 images, BLAS on one thread (as in workers):
      SGD (shuffled batches) and DP-SGD (Poisson sampling at q = 256/16,384, per-sample
      clipping by two backward passes, Gaussian noise on every parameter each step).
      """)

  @Option(parsing: .upToNextOption, help: "Models to measure.")
  var models: [ModelKind] = [.mlp, .cnn]
  @Option(help: "Batch size (the expected batch of DP-SGD).")
  var batchSize = 256

  func run() throws {
    BLAS.threads = 1
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let data = TrainBench.syntheticData(count: 16_384, shape: shape)
    for kind in models {
      let spec = ModelSpec(kind: kind)
      func rate(_ privately: Bool) -> Double {
        let network = spec.makeNetwork(input: shape, classes: 10, seed: 1)
        let trainer = Trainer(
          network: network,
          configuration: TrainingConfiguration(epochs: 1, batchSize: batchSize, schedule: LearningRateSchedule(base: 0.01), seed: 1))
        let start = ContinuousClock.now
        let samples =
          privately
          ? trainer.trainPrivateEpoch(data, epoch: 0, privacy: DPSGDConfiguration(clip: 1, noiseMultiplier: 1))
          : trainer.trainEpoch(data, epoch: 0)
        return Double(samples) / (ContinuousClock.now - start).seconds
      }
      _ = rate(false)  // warm-up
      let plain = rate(false), dp = rate(true)
      let ratio = dp / plain
      let aim =
        kind == .mlp ? "   aim ≥ 0.5: \(ratio >= 0.5 ? "met" : "NOT met")" : "   (figure stated)"
      print(
        String(
          format: "  %-10@ batch %d: SGD %8.0f samples/s   DP-SGD %8.0f samples/s   ratio %.2f", spec.description as NSString, batchSize,
          plain, dp, ratio) + aim)
    }
  }
}
