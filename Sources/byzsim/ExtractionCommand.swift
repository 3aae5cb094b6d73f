import ArgumentParser
import Artifacts
import Data
import Extraction
import Foundation
import Learning
import Runtime
import Serving
import Tensor

extension SubstituteTraining.Strategy: ExpressibleByArgument {}

/// `byzsim attack extraction`: steal a model through its answers (as a prediction API gives them).
struct ExtractionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "extraction",
    abstract: "Model extraction: equation solving (softmax models) or a substitute trained on the target's labels.",
    discussion: """
      The target answers through an output policy of byzsim serve (--output …). Fidelity is the
      share of Fashion-MNIST test images on which the copy and the target agree. Examples:
        byzsim attack extraction logreg.safetensors --method equations --json
        byzsim attack extraction mlp.safetensors --method learning --strategy jacobian --budget 3200
      equations: Tramèr et al. 2016, d + 1 uniform random queries (or --budget) solve every class
      of a softmax regression; needs probabilities (label-only answers give no equation).
      learning: random, indist (unlabelled training images the attacker holds: the last 10,000
      of the training split) or jacobian (Papernot et al. 2017) queries, labelled by the target.
      Against a running server (http://HOST:PORT as the target, --token T), the queries go through
      its real output policy, budget and rate limit: a rate limit is waited out, a budget is spent
      to its last prediction and ends the attack (which then uses what it got), a refusal (the
      query auditor) ends it too. --evaluate-with FILE (the served model's file) is the
      experimenter's: it only measures fidelity and is never queried.
        byzsim attack extraction http://127.0.0.1:8080 --token T --evaluate-with model.safetensors --method learning
      --json keys: method, strategy, queries, fidelity, accuracy, target_accuracy, output, and
      for equations on a logreg target parameter_error (largest |Δ| of the recovered w_k − w_0, b_k − b_0);
      against a server also target, answered, stopped (null, "budget" or "refused"),
      rate_limited, waited_seconds.
      """)

  @Argument(
    help: "The target: a model.safetensors, a run directory, or a server's http://HOST:PORT.",
    completion: .file(extensions: ["safetensors"]))
  var model: String
  @Option(help: "A server target: the predict token.")
  var token: String?
  @Option(
    help: "A server target: the served model's file, to measure fidelity (never queried).", completion: .file(extensions: ["safetensors"]))
  var evaluateWith: String?
  @Option(help: "equations or learning.")
  var method: String
  @Option(help: "learning: random, indist, jacobian.")
  var strategy: SubstituteTraining.Strategy = .jacobian
  @Option(help: "Queries (equations: default d + 1; learning: default 2,000).")
  var budget: Int?
  @Option(help: "learning: the substitute, logreg, mlp or cnn.")
  var substitute: ModelKind = .mlp
  @Option(help: "learning: the substitute's epochs.")
  var epochs = 10
  @OptionGroup var shown: OutputPolicyOptions
  @Option(help: "Seed of the queries and the substitute.")
  var seed: UInt64 = 1
  @OptionGroup var target: TargetModelOptions
  @Flag(help: "Print one JSON object.")
  var json = false
  @Option(help: "Write the stolen copy here (safetensors).")
  var out: String?

  func validate() throws {
    guard ["equations", "learning"].contains(method) else { throw ValidationError("--method must be equations or learning: got \(method)") }
    if let budget, budget < 1 || budget > 1_000_000 { throw ValidationError("--budget must be in 1...1000000: got \(budget)") }
    guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
  }

  func run() throws {
    let remote = model.hasPrefix("http://") || model.hasPrefix("https://")
    if remote && evaluateWith == nil {
      throw UserError("a server target needs --evaluate-with FILE (the served model's file) to measure fidelity; it is never queried")
    }
    let (loaded, victim) = try target.load(remote ? evaluateWith! : model)
    let test = try target.dataset(.test, for: loaded)
    let policy = shown.policy
    let output = shown.output
    var answers = RandomStream(seed: seed, purpose: .noise, 0x5845)
    let d = loaded.input.size
    let server = remote ? try ServerOracle(model, token: token, classes: loaded.classes) : nil
    var failure: (any Error)?
    func ask(_ x: [Float], _ n: Int) -> [[Double]] {
      if let server {
        guard failure == nil else { return [] }
        do { return try server.ask(x, n, inputSize: d) } catch {
          failure = error
          return []
        }
      }
      return x.withUnsafeBufferPointer { victim.probabilities($0.baseAddress!, count: n) }.map { policy.observed($0, rng: &answers) }
    }
    let targetLabels = test.features.withUnsafeBufferPointer { victim.predict($0.baseAddress!, count: test.count) }
    let targetAccuracy = Fidelity.agreement(targetLabels, test.labels)
    let progress = ProgressLine()
    var fields: [(String, String)] = [("method", "\"\(method)\"")]
    let copyLabels: [Int32]
    let queries: Int
    if method == "equations" {
      queries = budget ?? d + 1
      var rng = RandomStream(seed: seed, purpose: .attack, 0x4551)
      let inputs = (0..<queries).map { _ in (0..<d).map { _ in rng.nextFloat() } }
      progress.update("equation solving: \(queries) queries", force: true)
      let replies = ask(inputs.flatMap { $0 }, queries)
      if let failure { throw failure }
      guard replies.count == queries else {
        progress.finish("equation solving: \(replies.count) of \(queries) queries answered")
        throw UserError(
          "the server answered \(replies.count) of the \(queries) queries (\(server?.stopped ?? "?")): equation solving needs them all")
      }
      let extracted: EquationSolving.Model
      do {
        extracted = try EquationSolving.solve(inputs: inputs, answers: replies, classes: loaded.classes)
      } catch let e as EquationSolving.Failure {
        progress.finish("equation solving failed")
        throw UserError("equation solving failed under output \(output.rawValue): \(e.description)")
      }
      copyLabels = (0..<test.count).map { i in
        let z = extracted.logits(Array(test.features[(i * d)..<((i + 1) * d)]))
        var best = 0
        for k in z.indices where z[k] > z[best] { best = k }
        return Int32(best)
      }
      // ByzSim's logreg layout: the dense layer's weights (classes × d), then its biases.
      try save(extracted.weights.map(Float.init) + extracted.biases.map(Float.init), spec: ModelSpec(kind: .logreg), model: loaded)
      fields.append(("strategy", "null"))
      if loaded.spec.kind == .logreg {
        // The target's own w_k − w_0 and b_k − b_0 (ByzSim's dense layout: weights then biases).
        let w = loaded.parameters, c = loaded.classes
        var error = 0.0
        for k in 1..<c {
          for j in 0..<d { error = max(error, abs(Double(w[k * d + j] - w[j]) - extracted.weights[k * d + j])) }
          error = max(error, abs(Double(w[c * d + k] - w[c * d]) - extracted.biases[k]))
        }
        fields.append(("parameter_error", "\(error)"))
      }
    } else {
      let train = try target.dataset(.train, for: loaded)
      let pool = train.subset(Array(max(0, train.count - 10_000)..<train.count))
      let attack = SubstituteTraining(
        strategy: strategy, budget: budget ?? 2000, spec: ModelSpec(kind: substitute),
        training: TrainingConfiguration(
          epochs: epochs, batchSize: 32, schedule: LearningRateSchedule(base: substitute == .logreg ? 0.1 : 0.02), momentum: 0.9, seed: seed
        ),
        seed: seed)
      let (trained, spent) = attack.run(
        oracle: { x, n in
          ask(x, n).map { p in
            var best = 0
            for k in p.indices where p[k] > p[best] { best = k }
            return Int32(best)
          }
        }, pool: pool, progress: { progress.update($0, force: true) })
      if let failure { throw failure }
      guard let copy = trained else {
        progress.finish("extraction: no query answered")
        throw UserError("the target answered none of the queries (\(server?.stopped ?? "no answer")): nothing to train a copy on")
      }
      queries = spent
      copyLabels = test.features.withUnsafeBufferPointer { copy.predict($0.baseAddress!, count: test.count) }
      try save(copy.parameters, spec: ModelSpec(kind: substitute), model: loaded)
      fields.append(("strategy", "\"\(strategy.rawValue)\""))
    }
    let fidelity = Fidelity.agreement(copyLabels, targetLabels)
    let accuracy = Fidelity.agreement(copyLabels, test.labels)
    progress.finish("extraction: \(queries) queries, fidelity \(String(format: "%.4f", fidelity))")
    fields += [
      ("queries", "\(queries)"), ("fidelity", "\(fidelity)"), ("accuracy", "\(accuracy)"), ("target_accuracy", "\(targetAccuracy)"),
      ("output", remote ? "\"server\"" : "\"\(output.rawValue)\""),
    ]
    if let out { fields.append(("out", JSONString.quoted(out))) }
    if let server {
      fields += [("target", JSONString.quoted(model)), ("answered", "\(server.answered)")] + server.jsonFields
    }
    if json {
      print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    } else {
      print(
        String(
          format: "%@ extraction (%@ output, %d queries): fidelity %.4f, copy's accuracy %.4f (target %.4f)", method, output.rawValue,
          queries, fidelity, accuracy, targetAccuracy))
      if let e = fields.first(where: { $0.0 == "parameter_error" }) { print("largest parameter error: \(e.1)") }
    }
  }

  /// Writes the copy of `model` (its input shape and classes) to `--out`, if given.
  func save(_ parameters: [Float], spec: ModelSpec, model: LoadedModel) throws {
    guard let out else { return }
    do {
      try RunExport.writeTrained(
        parameters, spec: spec, input: model.input, classes: model.classes, metadata: ["byzsim.trained_by": "byzsim attack extraction"],
        to: out)
    } catch {
      throw UserError("cannot write the copy to \(out): \(error)")
    }
  }

}
