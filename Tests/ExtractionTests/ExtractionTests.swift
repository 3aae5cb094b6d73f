import Foundation
import Testing

@testable import Data
@testable import Extraction
@testable import Learning
@testable import Tensor

/// Equation solving recovers a softmax model from d + 1 answers, exactly up to softmax's
/// shift; hidden or rounded-away probabilities leave it without equations.
struct ExtractionTests {
  /// Three classes over d = 2 with w₀ = (1, −1), w₁ = (0.5, 2), w₂ = (−3, 0), b = (0.1, −0.2, 0.3):
  /// the recovered w_k − w₀ are (−0.5, 3) and (−4, 1), the biases −0.3 and 0.2 (by hand).
  @Test func softmaxRegressionFromThreeQueries() throws {
    let w: [[Double]] = [[1, -1], [0.5, 2], [-3, 0]], b = [0.1, -0.2, 0.3]
    func answer(_ x: [Float]) -> [Double] {
      let z = (0..<3).map { k in b[k] + w[k][0] * Double(x[0]) + w[k][1] * Double(x[1]) }
      let e = z.map { exp($0) }
      return e.map { $0 / e.reduce(0, +) }
    }
    let inputs: [[Float]] = [[0.1, 0.9], [0.7, 0.2], [0.4, 0.4]]
    let model = try EquationSolving.solve(inputs: inputs, answers: inputs.map(answer), classes: 3)
    let expected: [Double] = [0, 0, -0.5, 3, -4, 1]
    for (a, e) in zip(model.weights, expected) { #expect(abs(a - e) < 1e-9) }
    for (a, e) in zip(model.biases, [0, -0.3, 0.2]) { #expect(abs(a - e) < 1e-9) }
  }

  @Test func withoutProbabilitiesThereIsNoSystem() {
    let inputs: [[Float]] = [[0.1, 0.9], [0.7, 0.2], [0.4, 0.4]]
    // Label-only answers: one-hot vectors, no ratio of two non-zero probabilities.
    #expect(throws: EquationSolving.Failure.self) {
      try EquationSolving.solve(inputs: inputs, answers: [[1, 0, 0], [0, 1, 0], [1, 0, 0]], classes: 3)
    }
    // Two queries for three unknowns per class.
    #expect(throws: EquationSolving.Failure.self) {
      try EquationSolving.solve(inputs: Array(inputs.prefix(2)), answers: [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], classes: 3)
    }
    // Three copies of one query: a singular system.
    #expect(throws: EquationSolving.Failure.self) {
      try EquationSolving.solve(
        inputs: [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], answers: Array(repeating: [0.2, 0.3, 0.5], count: 3), classes: 3)
    }
  }

  /// A substitute trained on an oracle's labels agrees with it: the oracle here is a fixed
  /// linear rule (the first two pixels sum above 1 → class 1), so fidelity is measured against
  /// known answers.
  @Test func substituteTrainingLearnsTheOracle() throws {
    let shape = ImageShape(height: 2, width: 2, channels: 1)
    var rng = RandomStream(seed: 4)
    let n = 600
    let features = (0..<(n * 4)).map { _ in rng.nextFloat() }
    let pool = Dataset(features: features, labels: [Int32](repeating: 0, count: n), shape: shape, classes: 10)
    func rule(_ x: [Float], _ count: Int) -> [Int32] {
      (0..<count).map { i in x[i * 4] + x[i * 4 + 1] > 1 ? 1 : 0 }
    }
    // In-distribution queries pin the boundary; Jacobian augmentation pushes its points deeper
    // into each label's region (along sign ∇ log p_y), so it learns less of the boundary here.
    for (strategy, floor) in [(SubstituteTraining.Strategy.indist, 0.9), (.jacobian, 0.65)] {
      let attack = SubstituteTraining(
        strategy: strategy, budget: 400, spec: ModelSpec(kind: .logreg),
        training: TrainingConfiguration(epochs: 100, batchSize: 32, schedule: LearningRateSchedule(base: 0.5), seed: 1), seed: 2)
      let (trained, spent) = attack.run(oracle: rule, pool: pool)
      let copy = try #require(trained)
      #expect(spent == 400)
      let predicted = features.withUnsafeBufferPointer { copy.predict($0.baseAddress!, count: n) }
      #expect(Fidelity.agreement(predicted, rule(features, n)) > floor, "\(strategy)")
    }
  }
}
