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
  @Option(help: "A Python with PyTorch and Opacus (make compare-dp builds .venv-opacus): also measure Opacus on the MLP.")
  var opacus: String?
  @Option(help: "The Opacus measurement script.")
  var opacusScript = "scripts/opacus-throughput.py"

  static let count = 16_384

  func run() throws {
    BLAS.threads = 1
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let data = TrainBench.syntheticData(count: Self.count, shape: shape)
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
      if kind == .mlp, let opacus { try compareOpacus(python: opacus, spec: spec, byzsimDP: dp) }
    }
  }

  /// Runs the same workload in Opacus (same run, same machine) and prints its figures beside ours.
  func compareOpacus(python: String, spec: ModelSpec, byzsimDP: Double) throws {
    print("  measuring Opacus on PyTorch CPU (one thread)…")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [opacusScript, String(Self.count), String(batchSize), String(spec.hidden[0])]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0,
      let j = try JSONSerialization.jsonObject(with: data) as? [String: Any],
      let sgd = j["sgd"] as? Double, let hooks = j["dp_sgd"] as? Double, let ghost = j["dp_sgd_ghost"] as? Double
    else {
      throw ValidationError("\(python) \(opacusScript) failed (status \(p.terminationStatus)): \(String(decoding: data, as: UTF8.self))")
    }
    print(
      String(
        format: "  Opacus %@ (torch %@): SGD %8.0f samples/s   DP-SGD %8.0f (ratio %.3f)   ghost clipping %8.0f (ratio %.2f)",
        (j["opacus"] as? String ?? "?") as NSString, (j["torch"] as? String ?? "?") as NSString, sgd, hooks, hooks / sgd, ghost,
        ghost / sgd))
    print(String(format: "  ByzSim DP-SGD / Opacus DP-SGD: %.1f×   / Opacus ghost clipping: %.2f×", byzsimDP / hooks, byzsimDP / ghost))
  }
}
