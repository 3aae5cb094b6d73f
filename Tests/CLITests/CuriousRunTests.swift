import Foundation
import Testing

/// The honest-but-curious coordinator inside a run (`curious = { every = N }`): it reads each
/// worker's batch out of its FedSGD gradient; evaluation scores the readings against the
/// batches the workers really used.
@Suite(.serialized) struct CuriousRunTests {
  static func topology(batch: Int, training: String = "", coordinator: String = "") -> String {
    """
    name = "curious"
    seed = 1
    rounds = 30
    [data]
    train_limit = 8000
    test_limit = 500
    [model]
    kind = "mlp"
    hidden = [64]
    [training]
    batch_size = \(batch)
    learning_rate = 0.01
    \(training)
    [coordinator]
    eval_every = 30
    curious = { every = 5 }
    \(coordinator)
    [[workers]]
    count = 4
    [security]
    curve = false
    """
  }

  func leakage(_ text: String) throws -> [String: Any] {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--threads", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json?["gradient_leakage"] as? [String: Any], "\(r.stdout)")
  }

  /// Batch 1: every one of the 24 readings (4 workers × rounds 0, 5, …, 25) is the worker's image
  /// to float precision, with its label. Batch 8: the first layer's row is a mix, far from any
  /// one image, while most labels still leak. DP-FedAvg does not help — the coordinator reads the
  /// updates before its own noise — while DP-SGD in the workers does.
  @Test func theCoordinatorReadsBatchesOutOfGradients() throws {
    let one = try leakage(Self.topology(batch: 1))
    #expect(one["readings"] as? Int == 24 && one["exact"] as? Int == 24 && one["label_recall"] as? Double == 1, "\(one)")
    let eight = try leakage(Self.topology(batch: 8))
    #expect(eight["exact"] as? Int == 0 && (eight["psnr_median"] as? Double ?? 99) < 25, "\(eight)")
    #expect((eight["label_recall"] as? Double ?? 0) > 0.6, "\(eight)")
    let central = try leakage(Self.topology(batch: 1, coordinator: "dp_noise_multiplier = 1.0"))
    #expect(central["exact"] as? Int == 24, "DP-FedAvg noises the aggregate, not what the coordinator reads: \(central)")
    let local = try leakage(Self.topology(batch: 8, training: "dp_noise_multiplier = 1.0"))
    #expect(local["exact"] as? Int == 0 && (local["psnr_median"] as? Double ?? 99) < (eight["psnr_median"] as? Double ?? 0), "\(local)")
  }

  @Test func itNeedsFedSGDAndADenseFirstLayer() throws {
    for (change, message) in [("local_steps = 5", "local_steps = 5"), ("", "cnn")] {
      var text = Self.topology(batch: 1, training: change)
      if change.isEmpty { text = text.replacingOccurrences(of: "kind = \"mlp\"", with: "kind = \"cnn\"") }
      let (file, _) = RunCommandTests.write(text)
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains("curious") && r.stderr.contains(message), "\(r.stderr)")
    }
  }
}
