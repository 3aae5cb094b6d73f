import Foundation
import Testing

/// Differential privacy inside runs: DP-SGD in the workers (`dp_*` in `[training]`) and
/// DP-FedAvg at the coordinator (`dp_*` in `[coordinator]`), each with the ε its accountant
/// reports — the same figure `byzsim dp epsilon` prints for the same schedule.
@Suite(.serialized) struct DPRunTests {
  static func topology(training: String = "", coordinator: String = "", workers: Int = 10) -> String {
    """
    name = "dp"
    seed = 1
    rounds = 100
    [data]
    train_limit = 10000
    test_limit = 1000
    [model]
    kind = "mlp"
    hidden = [64]
    [training]
    batch_size = 50
    learning_rate = 0.1
    \(training)
    [coordinator]
    eval_every = 50
    \(coordinator)
    [[workers]]
    count = \(workers)
    [security]
    curve = false
    """
  }

  func run(_ text: String, threads: Bool = true) throws -> [String: Any] {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + (threads ? ["--threads"] : []))
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json)
  }

  func epsilon(_ sigma: String, _ q: String, _ steps: String) throws -> Double {
    let r = try CLI.run(["dp", "epsilon", "--sigma", sigma, "--sample-rate", q, "--steps", steps, "--delta", "1e-5", "--json"])
    return try #require(r.json?["epsilon"] as? Double)
  }

  /// DP-SGD in 10 workers (1,000 samples each, batch 50: q = 0.05, 100 steps, σ = 1): ε as the
  /// accountant gives it, a model that still learns but less than without DP, and the same
  /// bytes from processes and threads (the sampling and noise come from seed, worker, round, step).
  @Test func workersTrainWithDPSGD() throws {
    let dp = "dp_clip = 1.0\ndp_noise_multiplier = 1.0"
    let plain = try run(Self.topology())
    let private1 = try run(Self.topology(training: dp))
    let guarantee = try #require((private1["dp"] as? [[String: Any]])?.first)
    #expect(
      guarantee["mechanism"] as? String == "dp-sgd" && guarantee["sample_rate"] as? Double == 0.05 && guarantee["steps"] as? Int == 100)
    #expect(try abs((guarantee["epsilon"] as? Double ?? 0) - epsilon("1", "0.05", "100")) < 1e-9, "\(guarantee)")
    #expect(plain["dp"] is NSNull)
    let a = try #require(private1["test_accuracy"] as? Double), b = try #require(plain["test_accuracy"] as? Double)
    #expect(a > 0.4 && a < b, "DP \(a), plain \(b)")
    let processes = try run(Self.topology(training: dp), threads: false)
    let d1 = try #require(private1["run_dir"] as? String), d2 = try #require(processes["run_dir"] as? String)
    #expect(FileManager.default.contents(atPath: d1 + "/model.bin") == FileManager.default.contents(atPath: d2 + "/model.bin"))
  }

  /// DP-FedAvg with 40 workers, half of them each round (q = 0.5), z = 1, 100 rounds: ε as the
  /// accountant gives it; a robust aggregator with it is refused with the reason.
  @Test func theCoordinatorRunsDPFedAvg() throws {
    let json = try run(Self.topology(coordinator: "sample_fraction = 0.5\ndp_clip = 1.0\ndp_noise_multiplier = 1.0", workers: 40))
    let guarantee = try #require((json["dp"] as? [[String: Any]])?.first)
    #expect(guarantee["mechanism"] as? String == "dp-fedavg" && guarantee["sample_rate"] as? Double == 0.5)
    #expect(try abs((guarantee["epsilon"] as? Double ?? 0) - epsilon("1", "0.5", "100")) < 1e-9, "\(guarantee)")
    #expect(try #require(json["test_accuracy"] as? Double) > 0.3)
    let (file, _) = RunCommandTests.write(
      Self.topology(coordinator: "aggregator = { name = \"trimmed_mean\", f = 2 }\ndp_noise_multiplier = 1.0", workers: 40))
    let refused = try CLI.run(["validate", file])
    #expect(refused.status != 0 && refused.stderr.contains("sensitivity") && refused.stderr.contains("trimmed_mean"), "\(refused.stderr)")
    let (both, _) = RunCommandTests.write(Self.topology(training: "dp_noise_multiplier = 1.0\nadversarial_eps = 0.1"))
    #expect(try CLI.run(["validate", both]).stderr.contains("cannot be combined"))
  }
}
