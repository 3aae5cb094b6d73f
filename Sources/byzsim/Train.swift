import ArgumentParser
import Data
import Foundation
import Ingestion
import Evasion
import Learning
import Privacy
import Watermark
import Runtime
import Tensor

/// `byzsim train`: centralized training on Fashion-MNIST with a live progress line.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a model centrally on Fashion-MNIST and report test accuracy.",
    discussion: """
      Defaults per model (override any of them), SGD with step decay:
        logreg  10 epochs, batch 32, lr 0.1,  momentum 0,   lr ×0.2 every 4 epochs
        mlp     10 epochs, batch 32, lr 0.02, momentum 0.9, lr ×0.1 every 6 epochs
        cnn      5 epochs, batch 64, lr 0.05, momentum 0.9, lr ×0.1 every 3 epochs
      Progress goes to stderr; with --json the last line of stdout is one JSON object.
      DP-SGD (--dp): Poisson sampling at q = batch size / training samples, per-sample gradients
      clipped to --clip, Gaussian noise σ·clip on their sum (σ from --noise-multiplier, or the
      smallest σ that keeps --target-epsilon at --delta over the whole run), divided by the
      expected batch; the ε spent (RDP accountant, as Opacus's) is printed and in --json under "dp".
        byzsim train --model mlp --dp --clip 1 --target-epsilon 3 --delta 1e-5
      Adversarial training (--adversarial-eps E; Madry et al. 2018): every batch is replaced by its
      PGD adversarial examples (--adversarial-steps, L∞ or --adversarial-norm l2) against the model
      at that step; the output then adds the robust accuracy under PGD at E (20 steps) on the
      first 1,000 test images ("robust_accuracy" in --json).
      --out FILE writes the trained model as safetensors (unsigned: byzsim sign FILE --key K).

      Examples:
        byzsim train --model cnn --json
        byzsim train --model mlp --epochs 5 --out mlp.safetensors
      """)

  @Option(help: "Model to train: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")).")
  var model: ModelKind = .mlp
  @Option(help: "MLP hidden layer widths, comma-separated.")
  var hidden: String = "100"
  @Option(help: "Passes over the training set (default: per model).")
  var epochs: Int?
  @Option(help: "Samples per SGD step (default: per model).")
  var batchSize: Int?
  @Option(help: "Learning rate (default: per model).")
  var lr: Float?
  @Option(help: "SGD momentum in [0, 1) (default: per model).")
  var momentum: Float?
  @Option(help: "L2 weight decay.")
  var weightDecay: Float = 0
  @Option(help: "Multiply the learning rate by --lr-gamma every N epochs; 0 keeps it constant (default: per model).")
  var lrStep: Int?
  @Option(help: "Learning-rate decay factor for --lr-step (default: per model).")
  var lrGamma: Float?
  @Option(help: "Seed of every random stream (init, shuffling).")
  var seed: UInt64 = 1
  @Option(help: "Train on only the first N training samples.")
  var trainLimit: Int?
  @Option(help: "Evaluate on only the first N test samples.")
  var testLimit: Int?
  @Option(help: "Write the data provenance manifest (file SHA-256s) to this JSON file.")
  var manifest: String?
  @Flag(help: "End stdout with one JSON object of results.")
  var json = false
  @Flag(help: "Train with DP-SGD (per-sample clipping, Gaussian noise, Poisson sampling).")
  var dp = false
  @Option(help: "DP-SGD: the per-sample gradient L2 bound C.")
  var clip: Float = 1
  @Option(help: "DP-SGD: the noise multiplier σ (noise standard deviation σ·C).")
  var noiseMultiplier: Double?
  @Option(help: "DP-SGD: choose σ so the whole run spends at most this ε.")
  var targetEpsilon: Double?
  @Option(help: "DP-SGD: the δ of the (ε, δ) guarantee.")
  var delta: Double = 1e-5
  @Option(help: "Adversarial training: the PGD budget ε (0: off).")
  var adversarialEps: Float = 0
  @Option(help: "Adversarial training: PGD steps per batch.")
  var adversarialSteps = 7
  @Option(help: "Adversarial training: linf or l2.")
  var adversarialNorm: EvasionAttack.Norm = .linf
  @Option(help: "Write the trained model here (safetensors).")
  var out: String?
  @Option(
    help: "Fine-tune this model (safetensors only; its signature checked) instead of training from the seeded initialisation.",
    completion: .file(extensions: ["safetensors"]))
  var initFrom: String?
  @Option(help: "With --init-from: the signer's public key (PEM).", completion: .file(extensions: ["pub"]))
  var initPub: String?
  @Flag(help: "With --init-from: start from a model whose signature does not hold (warns).")
  var allowUnsigned = false
  @Option(
    help:
      "With --init-from, Adi et al.'s fine-tuning modes: ftal (all layers), ftll (last layer only), rtll (re-initialise the last layer, train it only), rtal (re-initialise the last layer, train all)."
  )
  var fineTune = "ftal"
  @Option(help: "Use the training images from this index on (data the model has not seen, for fine-tuning).")
  var trainStart = 0
  @Option(help: "Embed the watermark of this trigger directory (byzsim watermark triggers).")
  var watermark: String?
  @Option(
    help:
      "Sanitise the training set at ingestion: drop what these detectors flag (comma-separated: spectral, clustering, confident, input; see byzsim inspect-data)."
  )
  var sanitize: String?
  @Option(help: "With --sanitize: spectral signatures' assumed poison rate.")
  var sanitizeEpsilon = 0.05
  @Option(help: "Times the trigger set joins the training data.")
  var watermarkRepeat = 20
  @OptionGroup var data: DataOptions
  @OptionGroup var compute: ComputeOptions

  var adversarialAttack: EvasionAttack {
    EvasionAttack(method: .pgd, norm: adversarialNorm, eps: adversarialEps, steps: adversarialSteps, seed: seed)
  }

  var hiddenSizes: [Int]? {
    let parts = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    return parts.contains(where: { $0 == nil }) || parts.isEmpty ? nil : parts.map { $0! }
  }

  var trainingConfiguration: TrainingConfiguration {
    let d = TrainingDefaults.for(model)
    return TrainingConfiguration(
      epochs: epochs ?? d.epochs, batchSize: batchSize ?? d.batchSize,
      schedule: LearningRateSchedule(base: lr ?? d.learningRate, stepEpochs: lrStep ?? d.stepEpochs, gamma: lrGamma ?? d.gamma),
      momentum: momentum ?? d.momentum, weightDecay: weightDecay, seed: seed)
  }

  func validate() throws {
    guard let sizes = hiddenSizes, sizes.allSatisfy({ $0 > 0 }) else {
      throw ValidationError("--hidden must be positive integers separated by commas, like 100 or 256,128: got '\(hidden)'.")
    }
    if let problem = trainingConfiguration.problem { throw ValidationError("\(problem). Fix the matching option.") }
    if let n = trainLimit, n < 1 { throw ValidationError("--train-limit must be >= 1: got \(n).") }
    if let n = testLimit, n < 1 { throw ValidationError("--test-limit must be >= 1: got \(n).") }
    if dp {
      guard (noiseMultiplier == nil) != (targetEpsilon == nil) else {
        throw ValidationError("--dp needs exactly one of --noise-multiplier and --target-epsilon.")
      }
      if let problem = DPSGDConfiguration(clip: clip, noiseMultiplier: noiseMultiplier ?? 1).problem {
        throw ValidationError("\(problem). Fix --clip or --noise-multiplier.")
      }
      if let e = targetEpsilon, !(e > 0 && e.isFinite) { throw ValidationError("--target-epsilon must be a positive number: got \(e).") }
      guard delta > 0 && delta < 1 else { throw ValidationError("--delta must be in (0, 1): got \(delta).") }
    } else if noiseMultiplier != nil || targetEpsilon != nil {
      throw ValidationError("--noise-multiplier and --target-epsilon only apply with --dp.")
    }
    guard ["ftal", "ftll", "rtll", "rtal"].contains(fineTune) else {
      throw ValidationError("--fine-tune must be ftal, ftll, rtll or rtal: got \(fineTune)")
    }
    if initFrom == nil && (initPub != nil || fineTune != "ftal" || allowUnsigned) {
      throw ValidationError("--init-pub, --fine-tune and --allow-unsigned go with --init-from")
    }
    guard trainStart >= 0 else { throw ValidationError("--train-start must be >= 0: got \(trainStart).") }
    if adversarialEps != 0 {
      guard !dp else { throw ValidationError("--adversarial-eps and --dp cannot be combined (yet): choose one.") }
      if let problem = adversarialAttack.problem { throw ValidationError("adversarial training: \(problem)") }
    }
  }

  func run() throws {
    compute.apply()
    let started = ContinuousClock.now
    var train = try FashionMNIST.load(.train, directory: data.dataDir)
    var test = try FashionMNIST.load(.test, directory: data.dataDir)
    let loadSeconds = (ContinuousClock.now - started).seconds
    if trainStart > 0 {
      guard trainStart < train.dataset.count else {
        throw UserError("--train-start \(trainStart): the training set has \(train.dataset.count) images")
      }
      train = .init(dataset: train.dataset.subset(Array(trainStart..<train.dataset.count)), files: train.files)
    }
    if let n = trainLimit { train = .init(dataset: train.dataset.prefix(n), files: train.files) }
    if let n = testLimit { test = .init(dataset: test.dataset.prefix(n), files: test.files) }
    let files = train.files + test.files
    if let path = manifest {
      try ProvenanceManifest(files: files).jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    var sanitizedRemoved: Int?
    if let sanitize {
      let names = sanitize.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      for n in names where !Sanitizer.detectors.contains(n) {
        throw ValidationError("--sanitize: unknown detector '\(n)': choose from \(Sanitizer.detectors.joined(separator: ", "))")
      }
      guard sanitizeEpsilon > 0 && sanitizeEpsilon <= 1 else { throw ValidationError("--sanitize-epsilon must be in (0, 1]") }
      let d = TrainingDefaults.for(.mlp)
      let sanitizer = Sanitizer(
        names: names, epsilon: sanitizeEpsilon, model: ModelSpec(kind: .mlp),
        configuration: TrainingConfiguration(
          epochs: 2, batchSize: d.batchSize, schedule: LearningRateSchedule(base: d.learningRate), momentum: d.momentum, seed: seed),
        folds: 4)
      let progress = ProgressLine()
      let (kept, removed) = sanitizer.kept(train.dataset, progress: { progress.update($0, force: true) })
      guard !kept.isEmpty else { throw UserError("--sanitize removed every training sample") }
      progress.finish("sanitize (\(names.joined(separator: ", "))): removed \(removed.count) of \(train.dataset.count) training samples")
      train = .init(dataset: train.dataset.subset(kept), files: train.files)
      sanitizedRemoved = removed.count
    }
    if let dir = watermark {
      guard (1...10_000).contains(watermarkRepeat) else { throw ValidationError("--watermark-repeat must be 1 to 10000") }
      do {
        let set = try TriggerSet.read(from: dir, shape: train.dataset.shape, classes: train.dataset.classes)
        train = .init(dataset: set.embedded(in: train.dataset, repeats: watermarkRepeat), files: train.files)
      } catch let e as TriggerSet.Invalid {
        throw UserError(e.description)
      }
    }
    var spec = ModelSpec(kind: model, hidden: hiddenSizes!)
    let shape = train.dataset.shape
    var start: LoadedModel?
    if let initFrom {
      let loaded = try ModelSource.load(path: initFrom, publicKey: initPub, policy: .required, allowUnsigned: allowUnsigned)
      guard loaded.input == shape, loaded.classes == train.dataset.classes else {
        throw UserError(
          "\(initFrom) takes \(loaded.input) images in \(loaded.classes) classes; the data has \(shape) in \(train.dataset.classes)")
      }
      spec = loaded.spec
      start = loaded
    }
    if let problem = spec.problem(input: shape, classes: train.dataset.classes) { throw UserError(problem) }
    let network = spec.makeNetwork(input: shape, classes: train.dataset.classes, seed: seed)
    if let start {
      let fresh = network.parameters
      network.parameters = start.parameters
      let last = network.parameterOffsets[network.layers.count - 1]..<network.parameterCount
      if fineTune.hasPrefix("rt") { network.parameters.replaceSubrange(last, with: fresh[last]) }
    }
    let config = trainingConfiguration
    // With t BLAS threads each batch is split into t passes on t threads (one BLAS thread each):
    // small products keep two cores busier that way than in one multi-threaded GEMM.
    network.parallelPasses = BLAS.threads
    let trainer = Trainer(network: network, configuration: config)
    if start != nil && fineTune.hasSuffix("ll") {
      trainer.trainable = network.parameterOffsets[network.layers.count - 1]..<network.parameterCount
    }
    let privacy = try dp ? privacySettings(count: train.dataset.count, config: config) : nil
    let progress = ProgressLine()
    progress.note(
      String(
        format: "byzsim train: %@, %d parameters, %d train / %d test samples (loaded in %.2f s), batch %d, %d epochs, BLAS threads %d",
        spec.description, network.parameterCount, train.dataset.count, test.dataset.count,
        loadSeconds, config.batchSize, config.epochs, BLAS.threads))

    var trainSeconds = 0.0
    var lastLoss = 0.0
    var evaluation = Evaluation(accuracy: 0, loss: 0, count: 0)
    for epoch in 0..<config.epochs {
      let t0 = ContinuousClock.now
      let report = { (p: TrainingProgress) in
        lastLoss = p.loss
        progress.update(
          String(
            format: "epoch %d/%d  batch %d/%d  loss %.4f  lr %g  %.0f samples/s",
            p.epoch + 1, p.epochs, p.batch, p.batchesPerEpoch, p.loss, p.learningRate, p.samplesPerSecond),
          force: p.epochFinished)
      }
      if let privacy {
        trainer.trainPrivateEpoch(train.dataset, epoch: epoch, privacy: privacy.settings, progress: report)
      } else {
        trainer.trainEpoch(
          train.dataset, epoch: epoch, transform: adversarialEps > 0 ? adversarialAttack.trainingTransform(for: network) : nil,
          progress: report)
      }
      let epochSeconds = (ContinuousClock.now - t0).seconds
      trainSeconds += epochSeconds
      evaluation = network.evaluate(test.dataset)
      progress.finish(
        String(
          format: "epoch %d/%d  train loss %.4f  test accuracy %.4f  test loss %.4f  %.1f s  %.0f samples/s",
          epoch + 1, config.epochs, lastLoss, evaluation.accuracy, evaluation.loss,
          epochSeconds, Double(train.dataset.count) / epochSeconds))
    }
    guard evaluation.loss.isFinite else {
      throw TrainingDiverged(learningRate: config.schedule.base)
    }
    var robust: Double?
    if adversarialEps > 0 {
      let probe = test.dataset.prefix(1000)
      let attack = EvasionAttack(method: .pgd, norm: adversarialNorm, eps: adversarialEps, steps: 20, seed: seed)
      robust = attack.run(network, x: probe.features, labels: probe.labels).robustAccuracy
    }
    if let out {
      do {
        try RunExport.writeTrained(
          network.parameters, spec: spec, input: shape, classes: train.dataset.classes,
          metadata: [
            "byzsim.seed": String(seed), "byzsim.trained_by": "byzsim train",
            "byzsim.data_sha256": files.map { "\(($0.path as NSString).lastPathComponent)=\($0.sha256)" }.joined(separator: ";"),
          ], to: out)
      } catch {
        throw UserError("cannot write the model to \(out): \(error)")
      }
    }
    let samples = config.epochs * train.dataset.count
    let result = TrainResult(
      model: spec.description, parameters: network.parameterCount, epochs: config.epochs,
      batchSize: config.batchSize, learningRate: config.schedule.base, momentum: config.momentum,
      seed: seed, trainSamples: train.dataset.count, testSamples: test.dataset.count,
      testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, finalTrainLoss: lastLoss,
      seconds: trainSeconds, samplesPerSecond: Double(samples) / trainSeconds,
      blasThreads: BLAS.threads, dataFiles: files, dp: privacy?.report, robustAccuracy: robust,
      adversarialEps: adversarialEps > 0 ? adversarialEps : nil, modelFile: out, sanitizedRemoved: sanitizedRemoved)
    if json {
      print(try result.jsonLine())
    } else {
      print(
        String(
          format: "test accuracy %.4f, test loss %.4f, %.1f s training, %.0f samples/s",
          result.testAccuracy, result.testLoss, result.seconds, result.samplesPerSecond))
      if let robust {
        print(String(format: "robust accuracy %.4f under PGD at ε %g (first 1,000 test images)", robust, Double(adversarialEps)))
      }
      if let out { print("model written to \(out)") }
      if let r = privacy?.report {
        print(
          String(
            format: "DP-SGD: ε = %.4f at δ = %g (RDP order %g), σ = %.4f, clip %g, q = %.6f, %d steps", r.epsilon ?? .infinity, r.delta,
            r.order ?? .nan,
            r.noiseMultiplier, Double(r.clip), r.sampleRate, r.steps))
      }
    }
  }

  /// DP-SGD's σ (given or solved for the target ε over the whole run) and the ε it spends.
  func privacySettings(count: Int, config: TrainingConfiguration) throws -> (settings: DPSGDConfiguration, report: DPReportJSON) {
    let q = DPSGDConfiguration.sampleRate(batchSize: config.batchSize, count: count)
    let steps = config.epochs * DPSGDConfiguration.stepsPerEpoch(batchSize: config.batchSize, count: count)
    do {
      let sigma =
        try noiseMultiplier
        ?? RDPAccountant.noiseMultiplier(targetEpsilon: targetEpsilon!, delta: delta, sampleRate: q, steps: steps)
      let (epsilon, order) = try RDPAccountant.epsilon(sampleRate: q, sigma: sigma, steps: steps, delta: delta)
      return (
        DPSGDConfiguration(clip: clip, noiseMultiplier: sigma),
        DPReportJSON(
          clip: clip, noiseMultiplier: sigma, sampleRate: q, steps: steps, delta: delta, epsilon: epsilon.isFinite ? epsilon : nil,
          order: order)
      )
    } catch let e as RDPAccountant.Error {
      throw UserError(e.description)
    }
  }
}

/// `dp` in `byzsim train --json`: the DP-SGD settings and the ε they spend (null: no finite ε).
struct DPReportJSON: Encodable {
  let clip: Float
  let noiseMultiplier: Double
  let sampleRate: Double
  let steps: Int
  let delta: Double
  let epsilon: Double?
  let order: Double?
}

struct TrainingDiverged: Error, CustomStringConvertible {
  let learningRate: Float
  var description: String {
    "training diverged (the loss is not finite) at learning rate \(learningRate): lower --lr and try again."
  }
}

/// The `--json` result of `byzsim train` (a stable contract: keys are snake_case).
struct TrainResult: Encodable {
  let model: String
  let parameters: Int
  let epochs: Int
  let batchSize: Int
  let learningRate: Float
  let momentum: Float
  let seed: UInt64
  let trainSamples: Int
  let testSamples: Int
  let testAccuracy: Double
  let testLoss: Double
  let finalTrainLoss: Double
  let seconds: Double
  let samplesPerSecond: Double
  let blasThreads: Int
  let dataFiles: [FileDigest]
  let dp: DPReportJSON?
  let robustAccuracy: Double?
  let adversarialEps: Float?
  let modelFile: String?
  /// With --sanitize: training samples the detectors dropped.
  let sanitizedRemoved: Int?

  func jsonLine() throws -> String {
    String(decoding: try JSONEncoder.snake().encode(self), as: UTF8.self)
  }
}
