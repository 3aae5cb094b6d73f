/// Default hyper-parameters per model for centralized Fashion-MNIST training, chosen (on
/// seeds 1–3) so each model clears its accuracy target: logreg ≥ 0.84, MLP ≥ 0.88 in 10
/// epochs, CNN ≥ 0.90 in 5 epochs. SGD with step decay: the rate is multiplied by `gamma`
/// every `stepEpochs` epochs.
public struct TrainingDefaults: Sendable {
  public let epochs: Int
  public let batchSize: Int
  public let learningRate: Float
  public let momentum: Float
  public let stepEpochs: Int
  public let gamma: Float

  public static func `for`(_ kind: ModelKind) -> TrainingDefaults {
    switch kind {
    case .logreg:
      return TrainingDefaults(epochs: 10, batchSize: 32, learningRate: 0.1, momentum: 0, stepEpochs: 4, gamma: 0.2)
    case .mlp:
      return TrainingDefaults(epochs: 10, batchSize: 32, learningRate: 0.02, momentum: 0.9, stepEpochs: 6, gamma: 0.1)
    case .cnn:
      return TrainingDefaults(epochs: 5, batchSize: 64, learningRate: 0.05, momentum: 0.9, stepEpochs: 3, gamma: 0.1)
    }
  }

  /// The full configuration these defaults describe.
  public func configuration(seed: UInt64) -> TrainingConfiguration {
    TrainingConfiguration(
      epochs: epochs, batchSize: batchSize,
      schedule: LearningRateSchedule(base: learningRate, stepEpochs: stepEpochs, gamma: gamma),
      momentum: momentum, weightDecay: 0, seed: seed)
  }
}
