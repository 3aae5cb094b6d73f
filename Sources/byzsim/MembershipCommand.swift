import ArgumentParser
import Data
import Foundation
import Learning
import Privacy
import Serving
import Tensor

extension OutputPolicy.Kind: ExpressibleByArgument {}

/// `byzsim attack membership`: a membership-inference experiment (target, shadows, every attack).
struct MembershipCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "membership",
    abstract: "Membership inference: train a target and shadow models, run every attack, report ROC figures.",
    discussion: """
      The target trains on a random half of the first 2N Fashion-MNIST training images (N =
      --members); every attack scores all 2N. Attacks: loss (Yeom et al. 2018), confidence
      (Salem et al. 2019), shadow (Shokri et al. 2017; shadows on the next 2N images), LiRA online
      and offline, per-example and fixed variance (Carlini et al. 2022; --shadows models on random
      halves of the pool), label-only (Choquette-Choo et al. 2021, noise robustness). Queries to
      the target pass through an output policy of byzsim serve (--output, --decimals, --top-k,
      --noise). Figures: ROC AUC, TPR at 0.1% and 1% FPR, best balanced accuracy; --svg writes
      the ROC curves on log–log axes.
      Example (an overfitted target: small --members, many --epochs):
        byzsim attack membership --members 500 --epochs 60 --shadows 16 --svg roc.svg
      --dp trains every model (the target and the shadows, as LiRA assumes the attacker knows the
      training procedure) with DP-SGD (--noise-multiplier, --clip); --json then adds "dp":
      {"epsilon", "delta", "noise_multiplier", "clip"} for the target.
      --json keys: members, shadows, output, target_train_accuracy, target_test_accuracy, and
      attacks.NAME.{auc, tpr_at_fpr_0.001, tpr_at_fpr_0.01, balanced_accuracy}.
      """)

  @Option(help: "Model: logreg, mlp, cnn.")
  var model: ModelKind = .mlp
  @Option(help: "MLP hidden layer widths, comma-separated.")
  var hidden = "100"
  @Option(help: "N: the target trains on N of a pool of 2N images.")
  var members = 1000
  @Option(help: "LiRA's shadow models.")
  var shadows = 16
  @Option(help: "The shadow-model attack's shadows.")
  var shokriShadows = 4
  @Option(help: "Epochs of every model.")
  var epochs = 30
  @Option(help: "Batch size.")
  var batchSize = 32
  @Option(help: "Learning rate.")
  var lr: Float = 0.05
  @Option(help: "SGD momentum.")
  var momentum: Float = 0.9
  @Option(help: "Seed of the split, the models and the queries.")
  var seed: UInt64 = 1
  @OptionGroup var shown: OutputPolicyOptions
  @Option(help: "Write the ROC curves (log–log SVG) here.")
  var svg: String?
  @Flag(help: "Train every model (target and shadows) with DP-SGD.")
  var dp = false
  @Option(help: "With --dp: the noise multiplier σ.")
  var noiseMultiplier = 1.0
  @Option(help: "With --dp: the per-sample clipping norm C.")
  var clip: Float = 1
  @Option(help: "With --dp: the δ the target's ε is reported for.")
  var delta = 1e-5
  @Flag(help: "Print one JSON object.")
  var json = false
  @OptionGroup var data: DataOptions

  func run() throws {
    let hiddenSizes = hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !hiddenSizes.isEmpty, hiddenSizes.allSatisfy({ $0 > 0 }) else {
      throw ValidationError("--hidden must be positive integers: got '\(hidden)'")
    }
    let spec = ModelSpec(kind: model, hidden: hiddenSizes)
    let train = try FashionMNIST.load(.train, directory: data.dataDir).dataset
    let test = try FashionMNIST.load(.test, directory: data.dataDir).dataset
    let config = TrainingConfiguration(
      epochs: epochs, batchSize: batchSize, schedule: LearningRateSchedule(base: lr), momentum: momentum, seed: seed)
    var experiment = MembershipExperiment(
      spec: spec, members: members, shadows: shadows, shokriShadows: shokriShadows, training: config, seed: seed)
    var spent: (epsilon: Double, order: Double?)?
    if dp {
      let privacy = DPSGDConfiguration(clip: clip, noiseMultiplier: noiseMultiplier)
      if let problem = privacy.problem { throw ValidationError("--dp: \(problem)") }
      guard delta > 0 && delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
      experiment.privacy = privacy
      let q = DPSGDConfiguration.sampleRate(batchSize: batchSize, count: members)
      let steps = epochs * DPSGDConfiguration.stepsPerEpoch(batchSize: batchSize, count: members)
      spent = try RDPAccountant.epsilon(sampleRate: q, sigma: noiseMultiplier, steps: steps, delta: delta)
    }
    if let problem = experiment.problem(available: train.count) { throw UserError(problem) }
    let policy = shown.policy
    let output = shown.output
    let progress = ProgressLine()
    let started = ContinuousClock.now
    let report = experiment.run(train: train, test: test, observe: { policy.observed($0, rng: &$1) }) { step in
      progress.update(String(format: "membership: %@  (%.0f s)", step, (ContinuousClock.now - started).seconds), force: true)
    }
    progress.finish(String(format: "membership: done in %.1f s", (ContinuousClock.now - started).seconds))
    if let svg {
      let text = ROC.svg(
        report.attacks.map { ($0.name, $0.roc) },
        title: "Membership inference, \(spec), N = \(members), output \(output.rawValue)")
      do {
        try text.write(toFile: svg, atomically: true, encoding: .utf8)
      } catch {
        throw UserError("cannot write \(svg): \((error as NSError).localizedDescription)")
      }
    }
    if json {
      let attacks = report.attacks.map { a in
        "\"\(a.name)\":{\"auc\":\(a.roc.auc),\"tpr_at_fpr_0.001\":\(a.roc.tpr(atFPR: 0.001)),"
          + "\"tpr_at_fpr_0.01\":\(a.roc.tpr(atFPR: 0.01)),\"balanced_accuracy\":\(a.roc.balancedAccuracy)}"
      }
      print(
        "{\"members\":\(members),\"shadows\":\(shadows),\"output\":\"\(output.rawValue)\","
          + "\"target_train_accuracy\":\(report.targetTrainAccuracy),\"target_test_accuracy\":\(report.targetTestAccuracy),"
          + "\"attacks\":{\(attacks.joined(separator: ","))},"
          + "\"dp\":\(spent.map { "{\"epsilon\":\($0.epsilon.isFinite ? "\($0.epsilon)" : "null"),\"delta\":\(delta),\"noise_multiplier\":\(noiseMultiplier),\"clip\":\(clip)}" } ?? "null")}"
      )
    } else {
      print(
        String(
          format: "target %@: train accuracy %.4f, test accuracy %.4f (N = %d, output %@)", spec.description, report.targetTrainAccuracy,
          report.targetTestAccuracy, members, output.rawValue))
      if let spent { print(String(format: "DP-SGD: σ %g, C %g: ε = %.4g at δ = %g", noiseMultiplier, Double(clip), spent.epsilon, delta)) }
      print("attack               AUC     TPR@0.1%FPR  TPR@1%FPR  balanced acc")
      for a in report.attacks {
        print(
          String(
            format: "%@  %.4f  %.4f       %.4f     %.4f", a.name.padding(toLength: 18, withPad: " ", startingAt: 0), a.roc.auc,
            a.roc.tpr(atFPR: 0.001), a.roc.tpr(atFPR: 0.01),
            a.roc.balancedAccuracy))
      }
    }
  }
}
