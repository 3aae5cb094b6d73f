import Foundation
import TestSupport
import Testing

/// Secure aggregation inside a run (`secure_aggregation` in `[coordinator]`): real worker
/// processes over CURVE run Bonawitz et al.'s protocol every round, the coordinator learns only
/// the sum — the model is the plain run's up to fixed-point rounding, and the curious coordinator's
/// gradient-leakage attack, exact on every plain reading, reads nothing.
@Suite(.serialized) struct SecureAggregationRunTests {
  static func topology(secure: String, coordinator: String = "") -> String {
    """
    name = "secagg"
    seed = 3
    rounds = 30
    [data]
    train_limit = 8000
    test_limit = 500
    [model]
    kind = "mlp"
    hidden = [64]
    [training]
    batch_size = 1
    learning_rate = 0.01
    [coordinator]
    eval_every = 30
    curious = { every = 5 }
    \(secure)
    \(coordinator)
    [[workers]]
    count = 4
    """
  }

  func run(_ text: String) throws -> [String: Any] {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json, "\(r.stdout)")
  }

  /// The largest difference between two runs' final weights, read by Python's safetensors.
  func maxDifference(_ a: String, _ b: String) throws -> Double {
    let out = try ReferencePython.run([
      "-c",
      """
      import sys, numpy as np
      from safetensors.numpy import load_file
      a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
      assert a.keys() == b.keys()
      print(max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a))
      """,
      a + "/model.safetensors", b + "/model.safetensors",
    ])
    return try #require(Double(out.trimmingCharacters(in: .whitespacesAndNewlines)))
  }

  @Test func theCoordinatorSeesOnlyTheSum() throws {
    let plain = try run(Self.topology(secure: ""))
    let secure = try run(Self.topology(secure: "secure_aggregation = true"))
    let again = try run(Self.topology(secure: "secure_aggregation = { threshold = 4 }"))
    let leak = { (j: [String: Any]) in j["gradient_leakage"] as? [String: Any] ?? [:] }
    #expect(leak(plain)["exact"] as? Int == 24, "\(leak(plain))")
    #expect(leak(secure)["readings"] as? Int == 24 && leak(secure)["exact"] as? Int == 0, "\(leak(secure))")
    #expect((leak(secure)["psnr_median"] as? Double ?? 99) < 15, "\(leak(secure))")
    let dirs = [plain, secure, again].map { $0["run_dir"] as! String }
    // Fixed-point rounding (2⁻²⁴ per coordinate) is all that separates the models.
    #expect(try maxDifference(dirs[0], dirs[1]) < 1e-6)
    // The masks cancel exactly: another threshold, other random keys, the same model to the bit.
    #expect(try maxDifference(dirs[1], dirs[2]) == 0)
    let events = try String(contentsOfFile: dirs[1] + "/events.log", encoding: .utf8)
    #expect(events.contains("round 30: secure aggregation: 4 advertised, 4 shared, 4 masked, 4 revealed (threshold 3)"), "\(events)")
    #expect(secure["rejected_frames"] as? [String: Int] ?? [:] == [:], "\(secure)")
  }

  /// A worker that shares its keys and then withholds its masked input (the drop attack under
  /// secure aggregation) every round: the coordinator rebuilds its masking key from the others'
  /// shares and removes its pairwise masks, and the model is the plain run's where it sends nothing.
  @Test func aWorkerThatDropsAfterSharingIsRecovered() throws {
    func topology(_ secure: String) -> String {
      Self.topology(secure: secure)
        .replacingOccurrences(of: "curious = { every = 5 }", with: "")
        .replacingOccurrences(of: "rounds = 30", with: "rounds = 5")
        .replacingOccurrences(of: "batch_size = 1", with: "batch_size = 8")
        // The dropper never answers in time: each round waits out this deadline once.
        .replacingOccurrences(of: "eval_every = 30", with: "eval_every = 30\nround_deadline_ms = 1500")
        + "\n[[workers]]\ncount = 1\nbehavior = \"drop\"\n"
    }
    let plain = try run(topology(""))
    let secure = try run(topology("secure_aggregation = true"))
    let dirs = [plain, secure].map { $0["run_dir"] as! String }
    #expect(try maxDifference(dirs[0], dirs[1]) < 1e-6)
    let events = try String(contentsOfFile: dirs[1] + "/events.log", encoding: .utf8)
    #expect(
      events.contains(
        "round 5: secure aggregation: 5 advertised, 5 shared, 4 masked, 4 revealed (threshold 3); masks of dropped worker(s) 4 removed"),
      "\(events)")
    let m = try RunCommandTests.metrics(dirs[1])
    #expect(m.count == 5 && m.allSatisfy { $0["aggregated"] as? [Int] == [0, 1, 2, 3] }, "\(m)")
  }

  /// Whatever needs an individual update is refused, with the reason.
  @Test func whatNeedsEachUpdateIsRefused() throws {
    let cases = [
      ("aggregator = { name = \"krum\", f = 1 }", "a robust aggregator cannot inspect the masked updates"),
      ("auditors = [\"norm_zscore\"]", "auditors have no update to score"),
      ("dp_noise_multiplier = 1.0", "DP-FedAvg cannot clip each update"),
      ("max_update_norm = 10.0", "max_update_norm cannot be checked"),
      ("secure_aggregation = { threshold = 5 }", "threshold 5 is more than the 4 workers"),
    ]
    for (line, message) in cases {
      let secure = line.hasPrefix("secure_aggregation") ? line : "secure_aggregation = true"
      let (file, _) = RunCommandTests.write(Self.topology(secure: secure, coordinator: line.hasPrefix("secure_aggregation") ? "" : line))
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains("secure_aggregation") && r.stderr.contains(message), "\(line): \(r.stderr)")
    }
  }
}
