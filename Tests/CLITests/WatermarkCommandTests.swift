import Foundation
import Testing

/// The owner's workflow end to end: make triggers, train with them, find the mark in the model
/// file and through `byzsim serve` (a label-only credential), and not in an unmarked model.
@Suite(.serialized) struct WatermarkCommandTests {
  @Test func theOwnerFindsTheMarkInTheFileAndThroughTheServer() throws {
    let dir = CLI.temporaryDirectory().path
    #expect(try CLI.run(["watermark", "triggers", "--out", dir + "/marks", "--count", "100", "--seed", "9"]).status == 0)
    let common = ["train", "--model", "mlp", "--train-limit", "5000", "--epochs", "3"]
    #expect(try CLI.run(common + ["--watermark", dir + "/marks", "--out", dir + "/owned.safetensors"]).status == 0)
    #expect(try CLI.run(common + ["--out", dir + "/plain.safetensors"]).status == 0)
    let owned = try CLI.run(["watermark", "verify", dir + "/owned.safetensors", "--triggers", dir + "/marks", "--allow-unsigned", "--json"])
    let plain = try CLI.run(["watermark", "verify", dir + "/plain.safetensors", "--triggers", dir + "/marks", "--allow-unsigned", "--json"])
    #expect(owned.json?["verified"] as? Bool == true && (owned.json?["matches"] as? Int ?? 0) >= 90, "\(owned.stdout) \(owned.stderr)")
    #expect(plain.json?["verified"] as? Bool == false, "\(plain.stdout)")

    // Through the server: sign the model, serve it with a label-only token, query the triggers.
    #expect(try CLI.run(["keygen", "--out", dir + "/owner"]).status == 0)
    #expect(try CLI.run(["sign", dir + "/owned.safetensors", "--key", dir + "/owner.key"]).status == 0)
    let token = "watermark-token-0123456789"
    let hash = try CLI.run(["serve", "--hash-token", token]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    try """
    public_key = "\(dir)/owner.pub"
    [server]
    request_log = "\(dir)/requests.jsonl"
    [[credentials]]
    id = "auditor"
    role = "predict"
    token_sha256 = "\(hash)"
    output = "label"
    """.write(toFile: dir + "/deploy.toml", atomically: true, encoding: .utf8)
    let server = try ServerProcess([dir + "/owned.safetensors", "--config", dir + "/deploy.toml"])
    defer { server.stop() }
    let remote = try CLI.run([
      "watermark", "verify", "http://127.0.0.1:\(server.port)", "--token", token, "--triggers", dir + "/marks", "--json",
    ])
    #expect(remote.json?["matches"] as? Int == owned.json?["matches"] as? Int, "\(remote.stdout) \(remote.stderr)")
    let refused = try CLI.run([
      "watermark", "verify", "http://127.0.0.1:\(server.port)", "--token", "wrong-token-0123456789", "--triggers", dir + "/marks",
    ])
    #expect(refused.status != 0 && refused.stderr.contains("401"), "\(refused.stderr)")
  }

  /// A federation of 10 workers (an MLP on 10,000 images, mean aggregation); `contractor` (nil:
  /// one group of 10) gives the tenth worker a group of its own with these keys.
  static func federation(rounds: Int, coordinator: String = "", contractor: String? = nil) -> String {
    let workers = contractor.map { "[[workers]]\ncount = 9\n[[workers]]\ncount = 1\n\($0)" } ?? "[[workers]]\ncount = 10"
    return """
      name = "federation"
      seed = 1
      rounds = \(rounds)
      [data]
      train_limit = 10000
      test_limit = 500
      [model]
      kind = "mlp"
      hidden = [100]
      [training]
      batch_size = 32
      learning_rate = 0.1
      [coordinator]
      eval_every = 50
      \(coordinator)
      \(workers)
      [security]
      curve = false
      """
  }

  /// A contractor plants its own mark in a federated run (`data_attack = { name = "watermark" }`
  /// on one of 10 workers, mean aggregation): the run's attack success rate is the share of its
  /// triggers the final model labels as planted, `byzsim watermark verify` with the same seed
  /// finds exactly that many matches and a p-value far below 0.01, and the same federation
  /// without the contractor does not carry the mark.
  @Test func aContractorPlantsItsMarkInAFederatedRun() throws {
    func topology(_ contractor: Bool) -> String {
      Self.federation(
        rounds: 150, contractor: contractor ? "data_attack = { name = \"watermark\", count = 100, repeats = 20, seed = 77 }" : "")
    }
    let dir = CLI.temporaryDirectory().path
    #expect(try CLI.run(["watermark", "triggers", "--out", dir + "/marks", "--count", "100", "--seed", "77"]).status == 0)
    var verdicts: [[String: Any]] = []
    for contractor in [true, false] {
      let (file, runs) = RunCommandTests.write(topology(contractor))
      let r = try CLI.run(["run", file, "--runs-dir", runs, "--threads", "--json"])
      #expect(r.status == 0, "\(r.stderr)")
      let run = try #require(r.json?["run_dir"] as? String)
      let v = try CLI.run(["watermark", "verify", run + "/model.safetensors", "--triggers", dir + "/marks", "--json"])
      #expect(v.status == 0, "\(v.stderr)")
      let json = try #require(v.json)
      if contractor {
        let rate = try #require(r.json?["attack_success_rate"] as? Double)
        #expect(Double(json["matches"] as? Int ?? -1) == (rate * 100).rounded(), "\(v.stdout) vs \(rate)")
      }
      verdicts.append(json)
    }
    #expect(verdicts[0]["verified"] as? Bool == true && (verdicts[0]["p_value"] as? Double ?? 1) < 1e-4, "\(verdicts[0])")
    #expect(verdicts[1]["verified"] as? Bool == false, "\(verdicts[1])")
  }

  /// The federation's owner marks the model at the coordinator (WAFFLE: pretraining on the
  /// triggers, then retraining after every aggregation): the summary's watermark_accuracy is the
  /// share of triggers the final model labels as planted, `byzsim watermark verify` with the same
  /// seed finds exactly that many, every metrics line carries the round's trigger accuracy, the
  /// events log the retraining; without the keys nothing is marked; bad keys are refused.
  @Test func theOwnerMarksAFederatedModelAtTheCoordinator() throws {
    func topology(_ extra: String) -> String { Self.federation(rounds: 100, coordinator: extra) }
    let dir = CLI.temporaryDirectory().path
    #expect(try CLI.run(["watermark", "triggers", "--out", dir + "/marks", "--count", "100", "--seed", "9"]).status == 0)
    let (file, runs) = RunCommandTests.write(topology("watermark_triggers = 100\nwatermark_seed = 9"))
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let run = try #require(r.json?["run_dir"] as? String)
    let accuracy = try #require(r.json?["watermark_accuracy"] as? Double)
    #expect(accuracy >= 0.98, "\(r.stdout)")
    let v = try CLI.run(["watermark", "verify", run + "/model.safetensors", "--triggers", dir + "/marks", "--json"])
    #expect(v.json?["matches"] as? Int == Int((accuracy * 100).rounded()) && v.json?["verified"] as? Bool == true, "\(v.stdout)")
    let lines = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 100 && lines.allSatisfy { $0.contains("\"watermark_accuracy\":0.") || $0.contains("\"watermark_accuracy\":1") })
    let events = try String(contentsOfFile: run + "/events.log", encoding: .utf8)
    #expect(events.contains("watermark: pretrained") && events.contains("round 1: watermark retrained"), "\(events.prefix(800))")
    let (plainFile, plainRuns) = RunCommandTests.write(topology(""))
    let plain = try CLI.run(["run", plainFile, "--runs-dir", plainRuns, "--json", "--threads"])
    #expect(plain.status == 0 && plain.json?["watermark_accuracy"] is NSNull, "\(plain.stdout)")
    let plainRun = try #require(plain.json?["run_dir"] as? String)
    let unmarked = try CLI.run(["watermark", "verify", plainRun + "/model.safetensors", "--triggers", dir + "/marks", "--json"])
    #expect(unmarked.json?["verified"] as? Bool == false, "\(unmarked.stdout)")
    for (extra, message) in [
      ("watermark_triggers = 100\nwatermark_threshold = 0", "watermark_threshold"),
      ("watermark_triggers = -1", "watermark_triggers"), ("watermark_triggers = 10\nwatermark_max_steps = 0", "watermark_max_steps"),
    ] {
      let (bad, _) = RunCommandTests.write(topology(extra))
      let b = try CLI.run(["validate", bad])
      #expect(b.status != 0 && b.stderr.contains(message), "\(extra): \(b.stderr)")
    }
  }

  @Test func badTriggerDirectoriesAreClearErrors() throws {
    let dir = CLI.temporaryDirectory().path
    let r = try CLI.run(["train", "--model", "logreg", "--watermark", dir + "/none", "--train-limit", "50"])
    #expect(r.status != 0 && r.stderr.contains("cannot be read"), "\(r.stderr)")
    let v = try CLI.run(["watermark", "verify", "http://127.0.0.1:1", "--triggers", dir + "/none"])
    #expect(v.status != 0 && v.stderr.contains("cannot be read"), "\(v.stderr)")
  }
}
