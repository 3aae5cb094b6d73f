import ArgumentParser
import Data
import Foundation
import Ingestion
import Learning
import Tensor

/// `byzsim-bench ingestion`: spectral signatures and activation clustering on the 60,000
/// Fashion-MNIST training images (the penultimate representations of an MLP trained one epoch
/// on them), one core. Aim (issue 21): each under 2 s. The baseline measured in the same run is
/// the representations' own forward pass over the 60,000 images.
struct IngestionBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ingestion", abstract: "Spectral signatures and activation clustering on 60,000 images (aim: under 2 s each).")
  @Option(help: "The Fashion-MNIST directory.")
  var data = FashionMNIST.defaultDirectory

  func run() throws {
    let train = try FashionMNIST.load(.train, directory: data).dataset
    let network = ModelSpec(kind: .mlp).makeNetwork(input: train.shape, classes: train.classes, seed: 1)
    let trainer = Trainer(
      network: network,
      configuration: TrainingConfiguration(epochs: 1, batchSize: 32, schedule: LearningRateSchedule(base: 0.02), momentum: 0.9, seed: 1))
    _ = trainer.trainEpoch(train, epoch: 0)
    func time<T>(_ body: () -> T) -> (T, Double) {
      let start = ContinuousClock.now
      let v = body()
      return (v, (ContinuousClock.now - start).seconds)
    }
    let (r, forward) = time { train.features.withUnsafeBufferPointer { network.representations($0.baseAddress!, count: train.count) } }
    let d = network.layers.last!.inputSize
    print("\(train.count) samples, \(d)-wide MLP representations; forward pass (baseline) \(String(format: "%.3f", forward)) s")
    let (spectral, s1) = time {
      SpectralSignatures.flag(representations: r, d: d, labels: train.labels, classes: train.classes, epsilon: 0.05)
    }
    let (clusters, s2) = time { ActivationClustering().flag(representations: r, d: d, labels: train.labels, classes: train.classes) }
    for (name, seconds, flagged) in [("spectral signatures", s1, spectral.count), ("activation clustering", s2, clusters.count)] {
      let label = name + String(repeating: " ", count: max(0, 24 - name.count))
      print(
        "  \(label) " + String(format: "%6.3f s (%.1f× the forward pass), %d flagged", seconds, seconds / forward, flagged)
          + "   aim < 2 s: \(seconds < 2 ? "met" : "NOT met")")
    }
  }
}
