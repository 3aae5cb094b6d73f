import ArgumentParser
import Attacks
import Data
import Foundation
import Ingestion
import Learning
import Tensor

/// `byzsim inspect-data`: the ingestion-stage defences on a (poisoned) training set, scored
/// against the samples the poisoning changed.
struct InspectDataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect-data",
    abstract:
      "Find poisoned training samples before training: spectral signatures, activation clustering, confident learning, input checks.",
    discussion: """
      Takes the first --train-limit Fashion-MNIST training images, poisons a --rate share of them
      (chosen by --seed) with a data attack (--poison label_flip|targeted_flip|random_labels|
      backdoor|dba, parameters as --param key=value; a backdoor's fraction defaults to 1 within
      the chosen share), and runs each detector; the truth is every sample the attack changed.
        spectral    Tran et al. 2018: per class, squared projection on the top singular vector of
                    the centred penultimate representations of a model trained on the data;
                    removes 1.5·ε·n per class (--epsilon, default: the poison rate)
        clustering  Chen et al. 2019: per class, PCA to 10 components, 2-means, the smaller
                    cluster when it holds ≤ 35% and the silhouette is ≥ 0.15
        confident   Northcutt et al. 2021: out-of-sample probabilities from --folds trainings,
                    the confident joint's off-diagonal samples (the label-flip defence)
        input       duplicates with conflicting labels, values out of [0, 1], per-class outliers
                    (robust z > 3.5 of the distance to the class mean); no training
      Without --poison the data is inspected as it is (every flag is a false positive).
      --evaluate also trains --eval-epochs on the clean set, the poisoned set and the poisoned set
      without each detector's flags, and reports test accuracy and the attack's success (backdoor
      and DBA: triggered non-target test images read as the target; targeted flip: the source
      class read as the target; null for untargeted attacks).
      --json prints {"samples", "poisoned", "poison", "rate", "model", "epochs",
      "detectors": {NAME: {"flagged", "true_positives", "precision", "recall", "f1", "seconds"}},
      "input_checks": {"duplicates", "near_duplicates", "conflicting", "out_of_range", "outliers"},
      and with --evaluate "evaluation": {"clean"|"poisoned"|"sanitized_NAME":
      {"removed", "test_accuracy", "attack_success"}}}.
      Example:
        byzsim inspect-data --poison backdoor --param target=0 --rate 0.05 --json
      """)

  @Option(help: "A data attack to poison with (label_flip, targeted_flip, random_labels, backdoor, dba).")
  var poison: String?
  @Option(name: .customLong("param"), help: "An attack parameter, key=value (repeatable).")
  var params: [String] = []
  @Option(help: "The share of the samples the attack is applied to.")
  var rate = 0.05
  @Option(help: "Training images, from the first.")
  var trainLimit = 10_000
  @Option(help: "Detectors, comma-separated: spectral, clustering, confident, input.")
  var detectors = "spectral,clustering,confident,input"
  @Option(help: "The model whose representations and probabilities the detectors use: logreg, mlp, cnn.")
  var model: ModelKind = .mlp
  @Option(help: "Its training epochs (each confident-learning fold too).")
  var epochs = 2
  @Option(help: "Spectral signatures: the poison rate assumed (default: --rate).")
  var epsilon: Double?
  @Option(help: "Confident learning: cross-validation folds.")
  var folds = 4
  @Option(help: "Seed of the poisoned share, the training and the folds.")
  var seed: UInt64 = 1
  @Option(help: "The Fashion-MNIST directory.", completion: .directory)
  var data = FashionMNIST.defaultDirectory
  @Flag(help: "Also train on the clean, the poisoned and each sanitised set; report test accuracy and attack success.")
  var evaluate = false
  @Option(help: "With --evaluate: epochs of those trainings.")
  var evalEpochs = 5
  @Flag(help: "Print one JSON object.")
  var json = false

  static let known = Sanitizer.detectors

  var chosen: [String] { detectors.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

  func validate() throws {
    guard rate > 0 && rate <= 1 else { throw ValidationError("--rate must be in (0, 1]: got \(rate)") }
    guard (10...60_000).contains(trainLimit) else { throw ValidationError("--train-limit must be 10 to 60000") }
    guard (1...100).contains(epochs) else { throw ValidationError("--epochs must be 1 to 100") }
    guard (2...20).contains(folds) else { throw ValidationError("--folds must be 2 to 20") }
    guard (1...100).contains(evalEpochs) else { throw ValidationError("--eval-epochs must be 1 to 100") }
    if let epsilon, !(epsilon > 0 && epsilon <= 1) { throw ValidationError("--epsilon must be in (0, 1]") }
    for d in chosen where !Self.known.contains(d) {
      throw ValidationError("unknown detector '\(d)': choose from \(Self.known.joined(separator: ", "))")
    }
    guard !chosen.isEmpty else { throw ValidationError("--detectors names none") }
  }

  func attackParameters() throws -> [String: Double] {
    var out: [String: Double] = [:]
    for p in params {
      let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, let v = Double(parts[1]), v.isFinite else {
        throw ValidationError("--param takes key=number: got '\(p)'")
      }
      out[parts[0]] = v
    }
    return out
  }

  func run() throws {
    let progress = ProgressLine()
    let all = try FashionMNIST.load(.train, directory: data).dataset
    let clean = all.subset(Array(0..<min(trainLimit, all.count)))
    var poisoned = clean
    var successSet: Dataset?
    let test = evaluate ? try FashionMNIST.load(.test, directory: data).dataset : nil
    if let poison {
      var p = try attackParameters()
      if ["backdoor", "dba"].contains(poison), p["fraction"] == nil { p["fraction"] = 1 }
      let attack: any DataAttack
      do { attack = try AttackRegistry.data(poison, p, classes: clean.classes) } catch let e as AttackError {
        throw UserError("--poison: \(e.message)")
      }
      var rng = RandomStream(seed: seed, purpose: .attack, 0x1A9E)
      let chosen = Array(rng.permutation(clean.count).prefix(max(1, Int((rate * Double(clean.count)).rounded())))).sorted()
      var attackRng = RandomStream(seed: seed, purpose: .attack, 0x1A9F)
      let changed = attack.poison(clean.subset(chosen), attacker: 0, attackers: 1, rng: &attackRng)
      guard changed.count == chosen.count else {
        throw UserError("--poison \(poison) adds samples; inspect-data measures attacks that change samples in place")
      }
      if let test { successSet = AttackSuccess.testSet(for: attack, test: test) }
      let d = clean.shape.size
      for (k, i) in chosen.enumerated() {
        poisoned.labels[i] = changed.labels[k]
        for j in 0..<d { poisoned.features[i * d + j] = changed.features[k * d + j] }
      }
    }
    let truth = PoisonTruth.indices(clean: clean, poisoned: poisoned)
    let defaults = TrainingDefaults.for(model)
    let configuration = TrainingConfiguration(
      epochs: epochs, batchSize: defaults.batchSize, schedule: LearningRateSchedule(base: defaults.learningRate),
      momentum: defaults.momentum, seed: seed)
    let sanitizer = Sanitizer(
      names: chosen, epsilon: epsilon ?? rate, model: ModelSpec(kind: model), configuration: configuration, folds: folds)
    var results: [(String, DetectionScore, Double)] = []
    var removals: [(String, Set<Int>)] = []
    let (detected, checks) = sanitizer.flags(poisoned, progress: { progress.update($0, force: true) })
    for (name, flagged, seconds) in detected {
      results.append((name, DetectionScore(flagged: flagged, truth: truth), seconds))
      removals.append((name, flagged))
    }
    // What sanitising buys: the same training on the clean set, the poisoned set, and the
    // poisoned set without each detector's flags.
    var evaluations: [(String, Int, Double, Double?)] = []
    if let test {
      func outcome(_ set: Dataset, _ label: String) -> (Double, Double?) {
        progress.update("evaluating: training on \(label) (\(set.count) samples, \(evalEpochs) epochs)", force: true)
        let network = ModelSpec(kind: model).makeNetwork(input: set.shape, classes: set.classes, seed: seed)
        let trainer = Trainer(
          network: network,
          configuration: TrainingConfiguration(
            epochs: evalEpochs, batchSize: defaults.batchSize, schedule: LearningRateSchedule(base: defaults.learningRate),
            momentum: defaults.momentum, seed: seed))
        for e in 0..<evalEpochs { _ = trainer.trainEpoch(set, epoch: e) }
        return (network.evaluate(test).accuracy, successSet.map { network.evaluate($0).accuracy })
      }
      let c = outcome(clean, "the clean set")
      evaluations.append(("clean", 0, c.0, c.1))
      if poison != nil {
        let p = outcome(poisoned, "the poisoned set")
        evaluations.append(("poisoned", 0, p.0, p.1))
      }
      for (name, flagged) in removals {
        let kept = (0..<poisoned.count).filter { !flagged.contains($0) }
        let s = outcome(poisoned.subset(kept), "the set \(name) sanitised")
        evaluations.append(("sanitized_" + name, flagged.count, s.0, s.1))
      }
    }
    progress.finish("inspect-data: \(poisoned.count) samples, \(truth.count) poisoned, \(results.count) detectors run")
    if json {
      func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
      let detectorFields = results.map { name, s, sec in
        "\"\(name)\":{\"flagged\":\(s.flagged),\"true_positives\":\(s.truePositives),\"precision\":\(number(s.precision)),\"recall\":\(number(s.recall)),\"f1\":\(number(s.f1)),\"seconds\":\(number(sec))}"
      }
      var fields = [
        "\"samples\":\(poisoned.count)", "\"poisoned\":\(truth.count)", "\"poison\":\(poison.map { "\"\($0)\"" } ?? "null")",
        "\"rate\":\(poison == nil ? "null" : "\(rate)")", "\"model\":\"\(model.rawValue)\"", "\"epochs\":\(epochs)",
        "\"detectors\":{" + detectorFields.joined(separator: ",") + "}",
      ]
      if !evaluations.isEmpty {
        fields.append(
          "\"evaluation\":{"
            + evaluations.map { name, removed, accuracy, success in
              "\"\(name)\":{\"removed\":\(removed),\"test_accuracy\":\(number(accuracy)),\"attack_success\":\(success.map(number) ?? "null")}"
            }.joined(separator: ",") + "}")
      }
      if let c = checks {
        fields.append(
          "\"input_checks\":{\"duplicates\":\(c.duplicates.count),\"near_duplicates\":\(c.nearDuplicates.count),\"conflicting\":\(c.conflicting.count),\"out_of_range\":\(c.outOfRange.count),\"outliers\":\(c.outliers.count)}"
        )
      }
      print("{" + fields.joined(separator: ",") + "}")
    } else {
      print("\(poisoned.count) samples, \(truth.count) poisoned\(poison.map { " (\($0), rate \(rate))" } ?? "")")
      print("detector     flagged  true pos  precision  recall   F1      seconds")
      for (name, s, sec) in results {
        print(
          String(
            format: "%@ %7d  %8d  %9.4f  %6.4f  %6.4f  %7.2f", name.padding(toLength: 11, withPad: " ", startingAt: 0), s.flagged,
            s.truePositives, s.precision, s.recall, s.f1, sec))
      }
      for (name, removed, accuracy, success) in evaluations {
        print(
          String(
            format: "trained on %@: test accuracy %.4f%@",
            name.replacingOccurrences(of: "_", with: " ") + (removed > 0 ? " (\(removed) removed)" : ""),
            accuracy, success.map { String(format: ", attack success %.4f", $0) } ?? ""))
      }
      if let c = checks {
        print(
          "input checks: \(c.duplicates.count) duplicates, \(c.nearDuplicates.count) near-duplicates, \(c.conflicting.count) with conflicting labels, \(c.outOfRange.count) out of range, \(c.outliers.count) class outliers"
        )
      }
    }
  }
}
