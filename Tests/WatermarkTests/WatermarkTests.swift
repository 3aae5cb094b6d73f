import Foundation
import Learning
import Testing
import TestSupport

@testable import Data
@testable import Tensor
@testable import Watermark

struct WatermarkTests {
  /// The figure: 20 of 100 trigger labels over 10 classes, p ≈ 1.98e-3; and SciPy's
  /// binomial survival function on other cases.
  @Test func binomialPValues() throws {
    #expect(abs(WatermarkTest.pValue(matches: 20, of: 100, classes: 10) - 1.98e-3) < 0.005e-3)
    let cases = [(20, 100, 10), (0, 50, 10), (50, 50, 10), (7, 30, 4), (13, 100, 10), (3, 10, 2)]
    let out = try ReferencePython.run(
      [
        "-c",
        "import sys\nfrom scipy import stats\nfor l in sys.stdin.read().split('\\n'):\n  k, n, c = map(int, l.split()); print(repr(float(stats.binom.sf(k - 1, n, 1 / c))))",
      ], input: Array(cases.map { "\($0.0) \($0.1) \($0.2)" }.joined(separator: "\n").utf8))
    for (c, line) in zip(cases, out.split(separator: "\n")) {
      let expected = Double(line)!
      #expect(abs(WatermarkTest.pValue(matches: c.0, of: c.1, classes: c.2) - expected) <= 1e-12 + 1e-9 * expected, "\(c)")
    }
  }

  @Test func triggerSetsAreDeterministicAbstractAndRoundTrip() throws {
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let a = TriggerSet.generate(count: 20, shape: shape, classes: 10, seed: 3)
    #expect(a == TriggerSet.generate(count: 20, shape: shape, classes: 10, seed: 3))
    #expect(a != TriggerSet.generate(count: 20, shape: shape, classes: 10, seed: 4))
    #expect(a.images.allSatisfy { $0 >= 0 && $0 <= 1 } && a.labels.allSatisfy { $0 >= 0 && $0 < 10 })
    // Each image spans [0, 1] (scaled), and no two are alike.
    for i in 0..<20 {
      let img = a.images[(i * 784)..<((i + 1) * 784)]
      #expect(img.min() == 0 && img.max() == 1)
    }
    let dir = Scratch.directory("wm").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try a.write(to: dir)
    #expect(try TriggerSet.read(from: dir, shape: shape, classes: 10) == a)
    // A label out of range, a pixel out of [0, 1], and unequal files are refused with the line.
    try "1\n12\n".write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
    #expect(throws: TriggerSet.Invalid.self) { try TriggerSet.read(from: dir, shape: shape, classes: 10) }
    try a.write(to: dir)
    try (Array(repeating: "2", count: 784).joined(separator: ",") + "\n").write(
      toFile: dir + "/images.csv", atomically: true, encoding: .utf8)
    try "1\n".write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
    #expect(throws: TriggerSet.Invalid.self) { try TriggerSet.read(from: dir, shape: shape, classes: 10) }
  }

  /// WAFFLE's retraining at the server: it stops as soon as the trigger accuracy reaches the
  /// threshold (no step when it already has), never takes more than max_steps, and is a function
  /// of the model and the round (the same batches twice). The step 0.05 converges in about 220
  /// steps with every OpenBLAS kernel tried (Sandybridge, Haswell, Zen); 0.1 oscillated on 40
  /// random labels and whether it reached 0.9 depended on the kernel's rounding.
  @Test func serverRetrainingStopsAtTheThresholdOrTheCap() throws {
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let triggers = TriggerSet.generate(count: 40, shape: shape, classes: 10, seed: 3)
    func fresh() -> Network { ModelSpec(kind: .mlp, hidden: [32]).makeNetwork(input: shape, classes: 10, seed: 1) }
    let capped = ServerRetraining(triggers: triggers, threshold: 1, maxSteps: 3, batchSize: 8, learningRate: 0.1, seed: 1)
    let a = fresh()
    #expect(capped.retrain(a, round: 0).steps == 3)
    let full = ServerRetraining(triggers: triggers, threshold: 0.9, maxSteps: 5_000, batchSize: 8, learningRate: 0.05, seed: 1)
    let b = fresh(), c = fresh()
    let (steps, accuracy) = full.retrain(b, round: 4)
    #expect(accuracy >= 0.9 && steps > 0 && steps < 5_000 && full.accuracy(b) == accuracy)
    #expect(full.retrain(b, round: 5).steps == 0)
    #expect(full.retrain(c, round: 4).steps == steps && c.parameters == b.parameters)
  }
}
