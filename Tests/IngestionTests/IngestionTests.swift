import Foundation
import TestSupport
import Testing

@testable import Data
@testable import Ingestion
@testable import Learning
@testable import Tensor

/// The ingestion detectors on their worked examples (by hand, the issue's figures) and against
/// NumPy's SVD.
struct IngestionDetectorTests {
  /// The issue's worked check for spectral signatures.
  @Test func spectralSignatureScores() {
    let rows: [Double] = [1, 0.1, 0.9, -0.1, 1.1, 0, 1, 0.05, 0.2, 2, 0.3, 2.2]
    let s = SpectralSignatures.scores(rows, n: 6, d: 2)
    for (got, want) in zip(s, [0.431566, 0.659114, 0.615703, 0.495680, 1.963624, 2.421805]) { #expect(abs(got - want) < 1e-6, "\(s)") }
    // Removing 1.5·ε·n = 2 of 6 (ε = 0.2) takes the two outlying samples.
    let flagged = SpectralSignatures.flag(
      representations: rows.map(Float.init), d: 2, labels: [Int32](repeating: 3, count: 6), classes: 10, epsilon: 0.2)
    #expect(flagged == [4, 5])
  }

  /// Against NumPy's SVD on a random 300 × 40 class (the power-iteration path, d > 24).
  @Test func spectralSignaturesMatchNumPy() throws {
    var rng = RandomStream(seed: 11)
    let n = 300, d = 40
    var rows = (0..<(n * d)).map { _ in rng.nextDouble() }
    for i in 0..<20 { rows[i * d] += 3 }  // a planted direction
    let ours = SpectralSignatures.scores(rows, n: n, d: d)
    let text = try ReferencePython.run(
      [
        "-c",
        """
        import numpy as np, sys
        R = np.array([float(v) for v in sys.stdin.read().split()]).reshape(\(n), \(d))
        M = R - R.mean(0)
        v = np.linalg.svd(M, full_matrices=False)[2][0]
        print(" ".join(repr(float(x)) for x in (M @ v) ** 2))
        """,
      ], input: Array(rows.map { "\($0)" }.joined(separator: " ").utf8))
    let numpy = text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    #expect(numpy.count == n)
    let worst = zip(ours, numpy).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst < 1e-6, "largest difference \(worst)")
  }

  /// The worked example in ActivationClustering's documentation.
  @Test func activationClusteringSplitsTheSmallPopulation() {
    let c = ActivationClustering(components: 1)
    let s = c.split([0, 0.2, 0.4, 0.6, 5, 5.4], n: 6, d: 1)
    #expect(s.smaller == [4, 5] && abs(s.share - 1.0 / 3) < 1e-12 && s.flagged)
    #expect(abs(s.silhouette - 0.9272822928201935) < 1e-9, "\(s.silhouette)")
    // One population: the split is poor and nothing is flagged.
    let even = c.split([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], n: 8, d: 1)
    #expect(!even.flagged, "\(even)")
  }

  /// The worked example in ConfidentLearning's documentation.
  @Test func confidentLearningFindsTheOffDiagonalSamples() {
    let p0 = [0.9, 0.8, 0.2, 0.1, 0.3, 0.7]
    let r = ConfidentLearning.find(probabilities: p0.map { [$0, 1 - $0] }, labels: [0, 0, 0, 1, 1, 1], classes: 2)
    #expect(abs(r.thresholds[0] - 0.633333) < 1e-6 && abs(r.thresholds[1] - 0.633333) < 1e-6)
    #expect(r.joint == [[2, 1], [1, 2]] && r.issues == [2, 5])
  }

  /// The worked example in InputChecks' documentation, plus a conflicting duplicate, an
  /// out-of-range value and a near-duplicate.
  @Test func inputChecks() {
    let shape = ImageShape(height: 1, width: 2, channels: 1)
    let one = Dataset(
      features: [0, 0, 0, 0, 0.1, 0, 0.2, 0, 0.1, 0.1, 1, 1], labels: [Int32](repeating: 0, count: 6), shape: shape, classes: 2)
    let r = InputChecks().run(one)
    #expect(r.outliers == [5] && r.duplicates == [1] && r.conflicting.isEmpty && r.outOfRange.isEmpty, "\(r)")
    let mixed = Dataset(
      features: [0.5, 0.5, 0.5, 0.5, 1.5, 0, 0.3, 0.3, 0.305, 0.3], labels: [0, 1, 0, 1, 1], shape: shape, classes: 2)
    let m = InputChecks().run(mixed)
    #expect(m.conflicting == [0, 1] && m.outOfRange == [2] && m.nearDuplicates == [4] && m.flagged.isSuperset(of: [0, 1, 2]), "\(m)")
  }

  /// Truth and scores: a changed label, changed pixels and an appended sample are poison.
  @Test func poisonTruthAndScores() {
    let shape = ImageShape(height: 1, width: 2, channels: 1)
    let clean = Dataset(features: [0, 0, 0.5, 0.5, 1, 1], labels: [0, 1, 2], shape: shape, classes: 3)
    let poisoned = Dataset(features: [0, 0, 0.5, 0.6, 1, 1, 0.2, 0.2], labels: [0, 1, 0, 1], shape: shape, classes: 3)
    let truth = PoisonTruth.indices(clean: clean, poisoned: poisoned)
    #expect(truth == [1, 2, 3])
    let score = DetectionScore(flagged: [0, 1, 2], truth: truth)
    #expect(score.truePositives == 2 && abs(score.precision - 2.0 / 3) < 1e-12 && abs(score.recall - 2.0 / 3) < 1e-12)
    #expect(abs(score.f1 - 2.0 / 3) < 1e-12)
  }

  /// The penultimate representation is the hidden layer's activations (what the last layer sees).
  @Test func representationsAreTheLastLayersInput() {
    let net = ModelSpec(kind: .mlp, hidden: [5]).makeNetwork(input: ImageShape(height: 2, width: 2, channels: 1), classes: 3, seed: 1)
    let x: [Float] = [0.1, 0.2, 0.3, 0.4, 0.9, 0.8, 0.7, 0.6]
    let r = x.withUnsafeBufferPointer { net.representations($0.baseAddress!, count: 2, batchSize: 1) }
    #expect(r.count == 10 && r.allSatisfy { $0 >= 0 })
    // The last layer applied to them gives the logits forward gives.
    let logits = x.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: net.forward($0.baseAddress!, batch: 2), count: 6)) }
    let last = net.layers.last!
    var mine = [Float](repeating: 0, count: 6)
    net.parameters.withUnsafeBufferPointer { p in
      r.withUnsafeBufferPointer { rp in
        last.forward(rp.baseAddress!, &mine, batch: 2, parameters: p.baseAddress! + net.parameterOffsets.last!)
      }
    }
    for (a, b) in zip(logits, mine) { #expect(abs(a - b) < 1e-5) }
  }
}
