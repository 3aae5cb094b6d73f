import Data
import Learning

/// The ingestion pipeline's detectors, run by name on one data set: what `byzsim inspect-data`
/// measures one by one and what `[data] sanitize` in a topology applies to every shard before
/// anyone trains on it (the union of the detectors' flags is dropped).
public struct Sanitizer: Sendable {
  public static let detectors = ["spectral", "clustering", "confident", "input"]

  public var names: [String]
  /// Spectral signatures' assumed poison rate.
  public var epsilon: Double
  /// The model whose representations (spectral, clustering) and probabilities (confident) the
  /// detectors read, and its training.
  public var model: ModelSpec
  public var configuration: TrainingConfiguration
  public var folds: Int

  public init(names: [String], epsilon: Double, model: ModelSpec, configuration: TrainingConfiguration, folds: Int) {
    self.names = names; self.epsilon = epsilon; self.model = model; self.configuration = configuration; self.folds = folds
  }

  /// Each detector's flags on `data`, in `names` order, with the seconds it took (not counting
  /// the shared model's training), and the input checks' full report when they ran. `progress`
  /// hears of long steps.
  public func flags(
    _ data: Dataset, progress: (String) -> Void = { _ in }
  ) -> (detectors: [(name: String, flagged: Set<Int>, seconds: Double)], inputChecks: InputChecks.Report?) {
    var representations: (values: [Float], width: Int)?
    func trained() -> (values: [Float], width: Int) {
      if let representations { return representations }
      progress("training the \(model.kind.rawValue) whose representations the detectors read (\(configuration.epochs) epochs)")
      let network = model.makeNetwork(input: data.shape, classes: data.classes, seed: configuration.seed)
      let trainer = Trainer(network: network, configuration: configuration)
      for e in 0..<configuration.epochs { _ = trainer.trainEpoch(data, epoch: e) }
      let r = data.features.withUnsafeBufferPointer { network.representations($0.baseAddress!, count: data.count) }
      representations = (r, network.layers.last!.inputSize)
      return representations!
    }
    var out: [(name: String, flagged: Set<Int>, seconds: Double)] = []
    var report: InputChecks.Report?
    for name in names {
      if name == "spectral" || name == "clustering" { _ = trained() }
      let start = ContinuousClock.now
      let flagged: Set<Int>
      switch name {
      case "spectral":
        let r = trained()
        flagged = SpectralSignatures.flag(
          representations: r.values, d: r.width, labels: data.labels, classes: data.classes, epsilon: epsilon)
      case "clustering":
        let r = trained()
        progress("activation clustering: per class, PCA and 2-means")
        flagged = ActivationClustering().flag(representations: r.values, d: r.width, labels: data.labels, classes: data.classes)
      case "confident":
        let p = ConfidentLearning.crossValidatedProbabilities(
          data, spec: model, folds: min(folds, data.count), configuration: configuration, progress: progress)
        flagged = Set(ConfidentLearning.find(probabilities: p, labels: data.labels, classes: data.classes).issues)
      case "input":
        progress("input checks")
        report = InputChecks().run(data)
        flagged = report!.flagged
      default:
        preconditionFailure("unknown detector \(name): callers check names against Sanitizer.detectors")
      }
      let d = ContinuousClock.now - start
      out.append((name, flagged, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
    }
    return (out, report)
  }

  /// The samples of `data` no detector flagged (indices, ascending), and the union of the flags.
  public func kept(_ data: Dataset, progress: (String) -> Void = { _ in }) -> (kept: [Int], removed: Set<Int>) {
    let removed = flags(data, progress: progress).detectors.reduce(into: Set<Int>()) { $0.formUnion($1.flagged) }
    return ((0..<data.count).filter { !removed.contains($0) }, removed)
  }
}
