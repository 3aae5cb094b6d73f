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
    discussion: """
      Examples:
        byzsim attack evasion model.safetensors --method pgd --eps 0.1 --steps 20 --json
        byzsim attack membership --members 500 --epochs 60 --shadows 16 --svg roc.svg
        byzsim attack extraction http://127.0.0.1:8080 --token T --method learning --strategy jacobian
      """,
    subcommands: [
      EvasionCommand.self, MembershipCommand.self, ExtractionCommand.self, InversionCommand.self, LeakageCommand.self, LeakCommand.self,
    ])
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
      Example:
        byzsim attack evasion runs/mnist-…/model.safetensors --method pgd --eps 0.1 --steps 20 --json
      Transfer (black-box): --surrogate FILE crafts the examples on another model (a surrogate, or
      a copy stolen by byzsim attack extraction) and measures the target on them; the target may
      then be a server, http://HOST:PORT with --token (its answers through its policy, budget and
      rate limit; every clean and adversarial image is one query). --json then adds
      "surrogate", "surrogate_robust_accuracy" (the white-box figure on the surrogate itself),
      and for a server "answered" and "stopped"; robust_accuracy is the target's.
      Example:
        byzsim attack evasion http://127.0.0.1:8080 --token T --surrogate copy.safetensors --method pgd --eps 0.1
      """)

  @Argument(
    help: "A model.safetensors, a run directory, or (with --surrogate) a server's http://HOST:PORT.",
    completion: .file(extensions: ["safetensors"]))
  var model: String
  @Option(help: "Craft on this model and measure the target on what it yields (transfer).", completion: .file(extensions: ["safetensors"]))
  var surrogate: String?
  @Option(help: "A server target: the predict token.")
  var token: String?
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
    let remote = model.hasPrefix("http://") || model.hasPrefix("https://")
    if remote && surrogate == nil {
      throw UserError("a server gives no gradients: attack it by transfer, --surrogate FILE (a model of your own, or a stolen copy)")
    }
    // The model the examples are crafted on: the target itself (white-box) or the surrogate.
    let (crafter, crafterNetwork) = try target.load(surrogate ?? model)
    let test = try target.dataset(.test, for: crafter).prefix(count)
    let progress = ProgressLine()
    let attack = self.attack
    var outcome = attack.run(crafterNetwork, x: test.features, labels: test.labels) { done in
      if done < test.count { progress.update("\(attack.method.rawValue) ε \(attack.eps): \(done)/\(test.count) images") }
    }
    progress.finish("\(attack.method.rawValue) ε \(attack.eps): \(test.count) images attacked")
    var extra = ""
    var described = (path: crafter.path, sha256: crafter.sha256)
    if let surrogate {
      let surrogateRobust = outcome.robustAccuracy
      // The target's answers on the clean and the transferred images.
      let d = test.shape.size
      func correct(_ labels: [Int32], _ truth: [Int32]) -> Int { zip(labels, truth).filter { $0 == $1 }.count }
      let clean: [Int32], adversarial: [Int32]
      if remote {
        let server = try ServerOracle(model, token: token, classes: crafter.classes)
        func labels(_ x: [Float]) throws -> [Int32] {
          try server.ask(x, x.count / d, inputSize: d).map { p in Int32(p.indices.max { p[$0] < p[$1] }!) }
        }
        clean = try labels(test.features)
        adversarial = try labels(outcome.adversarial)
        guard clean.count == test.count, adversarial.count == test.count else {
          throw UserError(
            "the server answered \(server.answered) of the \(2 * test.count) queries (\(server.stopped ?? "?")): the transfer needs them all"
          )
        }
        extra = ",\"answered\":\(server.answered),\"stopped\":\(server.stopped.map { "\"\($0)\"" } ?? "null")"
        described = (model, "")
      } else {
        let (loaded, network) = try target.load(model)
        guard loaded.input == crafter.input, loaded.classes == crafter.classes else {
          throw UserError(
            "the surrogate takes \(crafter.input) in \(crafter.classes) classes; the target \(loaded.input) in \(loaded.classes)")
        }
        clean = test.features.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: test.count) }
        adversarial = outcome.adversarial.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: test.count) }
        described = (loaded.path, loaded.sha256)
      }
      outcome.cleanCorrect = correct(clean, test.labels)
      outcome.robustCorrect = correct(adversarial, test.labels)
      extra = ",\"surrogate\":\(JSONString.quoted(surrogate)),\"surrogate_robust_accuracy\":\(surrogateRobust)" + extra
    }
    if json {
      print(
        "{\"method\":\"\(attack.method.rawValue)\",\"norm\":\"\(attack.norm.rawValue)\",\"eps\":\(attack.eps),\"steps\":\(attack.steps),"
          + "\"alpha\":\(attack.alpha),\"restarts\":\(attack.restarts),\"count\":\(outcome.count),"
          + "\"clean_accuracy\":\(outcome.cleanAccuracy),\"robust_accuracy\":\(outcome.robustAccuracy),"
          + "\"model\":\(JSONString.quoted(described.path)),\"sha256\":\"\(described.sha256)\"\(extra)}")
    } else {
      if surrogate != nil { print("transfer: crafted on \(surrogate!), measured on \(model)") }
      print(
        String(
          format: "%@ (%@, ε %g, %d steps of %g, %d restarts) on %d test images: clean accuracy %.4f, robust accuracy %.4f",
          attack.method.rawValue.uppercased(), attack.norm.rawValue, Double(attack.eps), attack.steps, Double(attack.alpha),
          attack.restarts,
          outcome.count, outcome.cleanAccuracy, outcome.robustAccuracy))
    }
  }
}
