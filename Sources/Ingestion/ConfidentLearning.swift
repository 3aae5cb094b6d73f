import Data
import Learning
import Tensor

/// Confident learning (Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in
/// Dataset Labels", JAIR 2021): from out-of-sample predicted probabilities P (k-fold cross-
/// validation), per-class thresholds t_j = the mean of P[i][j] over the samples labelled j; a
/// sample's confident label is the most probable class among those whose probability reaches
/// their threshold (none: the sample is not counted); the confident joint C[given][confident]
/// counts them, and the samples off its diagonal are the label issues.
///
/// Variant: the issues are the off-diagonal samples themselves (cleanlab's
/// `filter_by="confident_learning"`), not the prune-by-noise-rate ranking; thresholds are
/// compared with a 1e-6 tolerance, as cleanlab does.
///
/// Worked example (by hand): labels 0, 0, 0, 1, 1, 1 with P(class 0) = .9, .8, .2, .1, .3, .7
/// (P(class 1) = 1 − that): t₀ = (.9 + .8 + .2)/3 = .6333, t₁ = (.9 + .7 + .3)/3 = .6333; sample 2
/// (labelled 0) is confidently 1 and sample 5 (labelled 1) confidently 0; C = [[2, 1], [1, 2]];
/// the issues are samples 2 and 5.
public enum ConfidentLearning {
  public struct Result: Sendable, Equatable {
    public var thresholds: [Double]
    /// C[given label][confident label].
    public var joint: [[Int]]
    /// Off-diagonal samples, ascending.
    public var issues: [Int]
  }

  public static func find(probabilities p: [[Double]], labels: [Int32], classes: Int) -> Result {
    var sums = [Double](repeating: 0, count: classes), counts = [Int](repeating: 0, count: classes)
    for (i, l) in labels.enumerated() where l >= 0 && Int(l) < classes {
      sums[Int(l)] += p[i][Int(l)]
      counts[Int(l)] += 1
    }
    // A class nobody is labelled with has no threshold: nothing is confidently in it.
    let thresholds = (0..<classes).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : Double.infinity }
    var joint = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    var issues: [Int] = []
    for (i, l) in labels.enumerated() where l >= 0 && Int(l) < classes {
      var best: Int?
      for j in 0..<classes where p[i][j] >= thresholds[j] - 1e-6 {
        if best == nil || p[i][j] > p[i][best!] { best = j }
      }
      guard let confident = best else { continue }
      joint[Int(l)][confident] += 1
      if confident != Int(l) { issues.append(i) }
    }
    return Result(thresholds: thresholds, joint: joint, issues: issues)
  }

  /// Out-of-sample probabilities by k-fold cross-validation: fold f (every k-th sample of a
  /// seeded permutation) is predicted by a model of `spec` trained on the other folds with
  /// `configuration`. `progress` hears of each fold ("fold 2/5").
  public static func crossValidatedProbabilities(
    _ data: Dataset, spec: ModelSpec, folds: Int, configuration: TrainingConfiguration, progress: (String) -> Void = { _ in }
  ) -> [[Double]] {
    precondition(folds >= 2 && folds <= data.count, "k-fold cross-validation needs 2 ≤ k ≤ samples")
    var rng = RandomStream(seed: configuration.seed, purpose: .shuffle, 0xC1F0)
    let order = rng.permutation(data.count)
    var out = [[Double]](repeating: [], count: data.count)
    for f in 0..<folds {
      progress("confident learning: training fold \(f + 1)/\(folds) (one model per fold)")
      let held = order.enumerated().filter { $0.offset % folds == f }.map(\.element)
      let heldSet = Set(held)
      let train = data.subset(order.filter { !heldSet.contains($0) })
      let network = spec.makeNetwork(input: data.shape, classes: data.classes, seed: configuration.seed &+ UInt64(f))
      let trainer = Trainer(network: network, configuration: configuration)
      for e in 0..<configuration.epochs { _ = trainer.trainEpoch(train, epoch: e) }
      let x = data.subset(held).features
      let p = x.withUnsafeBufferPointer { network.probabilities($0.baseAddress!, count: held.count) }
      for (k, i) in held.enumerated() { out[i] = p[k] }
    }
    return out
  }
}
