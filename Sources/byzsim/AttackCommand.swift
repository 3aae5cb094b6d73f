import ArgumentParser
import Artifacts
import Data
import Evasion
import Foundation
import Runtime

/// `byzsim attack`: attacks on a trained model, run against its file.
struct AttackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attack",
    abstract: "Attack a trained model (a safetensors file).",
    subcommands: [EvasionCommand.self, MembershipCommand.self, ExtractionCommand.self, InversionCommand.self, LeakageCommand.self])
}

extension EvasionAttack.Method: ExpressibleByArgument {}
extension EvasionAttack.Norm: ExpressibleByArgument {}

struct EvasionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evasion",
    abstract: "Adversarial examples (FGSM, PGD) on the Fashion-MNIST test set: clean and robust accuracy.",
    discussion: """
      White-box: input gradients from the model file. FGSM: x + ε·sign(∇), one step (L∞). PGD: a
      random start in the ε-ball, --steps steps of --alpha (default 2.5·ε/steps), projected onto
      the ball and onto [0, 1]; --restarts R keeps each image's worst case.
      --json prints {"method", "norm", "eps", "steps", "alpha", "restarts", "count",
      "clean_accuracy", "robust_accuracy", "model", "sha256"}.
        byzsim attack evasion runs/mnist-…/model.safetensors --method pgd --eps 0.1 --steps 20 --json
      """)

  @Argument(help: "A model.safetensors or a run directory.", completion: .file(extensions: ["safetensors"]))
  var model: String
  @Option(help: "fgsm or pgd.")
  var method: EvasionAttack.Method
  @Option(help: "The perturbation budget ε (pixels are in [0, 1]).")
  var eps: Float
  @Option(help: "linf or l2 (FGSM: linf only).")
  var norm: EvasionAttack.Norm = .linf
  @Option(help: "PGD steps.")
  var steps = 20
  @Option(help: "PGD step size (default 2.5·ε/steps).")
  var alpha: Float?
  @Option(help: "PGD restarts (each image keeps its worst case).")
  var restarts = 1
  @Flag(inversion: .prefixedNo, help: "PGD: start at a random point of the ball.")
  var randomStart = true
  @Option(help: "Seed of the random starts.")
  var seed: UInt64 = 0
  @Option(help: "How many test images, from the first.")
  var count = 1000
  @OptionGroup var target: TargetModelOptions
  @Flag(help: "Print one JSON object.")
  var json = false

  var attack: EvasionAttack {
    EvasionAttack(
      method: method, norm: norm, eps: eps, steps: steps, alpha: alpha, restarts: restarts, randomStart: randomStart, seed: seed)
  }

  func validate() throws {
    guard count > 0 else { throw ValidationError("--count must be positive") }
    if let problem = attack.problem { throw ValidationError(problem) }
  }

  func run() throws {
    let (loaded, network) = try target.load(model)
    let test = try target.dataset(.test, for: loaded).prefix(count)
    let progress = ProgressLine()
    let attack = self.attack
    let outcome = attack.run(network, x: test.features, labels: test.labels) { done in
      if done < test.count { progress.update("\(attack.method.rawValue) ε \(attack.eps): \(done)/\(test.count) images") }
    }
    progress.finish("\(attack.method.rawValue) ε \(attack.eps): \(test.count) images attacked")
    if json {
      print(
        "{\"method\":\"\(attack.method.rawValue)\",\"norm\":\"\(attack.norm.rawValue)\",\"eps\":\(attack.eps),\"steps\":\(attack.steps),"
          + "\"alpha\":\(attack.alpha),\"restarts\":\(attack.restarts),\"count\":\(outcome.count),"
          + "\"clean_accuracy\":\(outcome.cleanAccuracy),\"robust_accuracy\":\(outcome.robustAccuracy),"
          + "\"model\":\(SafeTensorsFile.json(loaded.path)),\"sha256\":\"\(loaded.sha256)\"}")
    } else {
      print(
        String(
          format: "%@ (%@, ε %g, %d steps of %g, %d restarts) on %d test images: clean accuracy %.4f, robust accuracy %.4f",
          attack.method.rawValue.uppercased(), attack.norm.rawValue, Double(attack.eps), attack.steps, Double(attack.alpha),
          attack.restarts,
          outcome.count, outcome.cleanAccuracy, outcome.robustAccuracy))
    }
  }
}
