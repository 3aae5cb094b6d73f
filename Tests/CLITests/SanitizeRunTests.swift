import Foundation
import Testing

/// `[data] sanitize` in a topology: every shard passes the ingestion detectors at prepare time.
@Suite(.serialized) struct SanitizeRunTests {
  static func topology(_ sanitize: String) -> String {
    """
    name = "sanitize"
    seed = 1
    rounds = 150
    [data]
    train_limit = 20000
    \(sanitize)
    [model]
    kind = "mlp"
    hidden = [100]
    [training]
    batch_size = 32
    learning_rate = 0.1
    [coordinator]
    eval_every = 50
    [[workers]]
    count = 8
    [[workers]]
    count = 2
    data_attack = { name = "backdoor", target = 0, fraction = 0.1 }
    [security]
    curve = false
    """
  }

  /// Two of ten workers' shards carry BadNets triggers (10% of each). Activation clustering at
  /// ingestion removes part of them: sanitize.json records every shard (the two attack shards
  /// with their 200 poisoned samples each and how many were removed), the shards the workers
  /// train on are the smaller sanitised ones (the manifest's sample counts), and the backdoor's
  /// success falls against the same run without sanitising.
  @Test func clusteringAtIngestionWeakensABackdoor() throws {
    var success: [Double] = []
    var report: [String: Any] = [:]
    for sanitize in ["sanitize = { detectors = [\"clustering\"], epochs = 3 }", ""] {
      let (file, runs) = RunCommandTests.write(Self.topology(sanitize))
      let r = try CLI.run(["run", file, "--runs-dir", runs, "--threads", "--json"])
      #expect(r.status == 0, "\(r.stderr)")
      success.append(try #require(r.json?["attack_success_rate"] as? Double))
      let dir = try #require(r.json?["run_dir"] as? String)
      if !sanitize.isEmpty {
        #expect(r.stderr.contains("sanitize: worker 8's attack shard: removed"), "\(r.stderr)")
        let data = try #require(FileManager.default.contents(atPath: dir + "/sanitize.json"))
        report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let manifestData = try #require(FileManager.default.contents(atPath: dir + "/manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
        let samples = try #require(manifest["shard_samples"] as? [Int])
        let shards = try #require(report["shards"] as? [[String: Any]])
        for w in 0..<10 {
          let clean = shards.first { $0["worker"] as? Int == w && $0["shard"] as? String == "clean" }
          #expect(
            clean?["samples"] as? Int == 2000 && samples[w] == 2000 - (clean?["removed"] as? Int ?? -1),
            "\(w): \(String(describing: clean))")
        }
      } else {
        #expect(!FileManager.default.fileExists(atPath: dir + "/sanitize.json"))
      }
    }
    let shards = try #require(report["shards"] as? [[String: Any]])
    let attack = shards.filter { $0["shard"] as? String == "attack" }
    #expect(
      attack.count == 2 && attack.allSatisfy { $0["poisoned"] as? Int == 200 && ($0["poisoned_removed"] as? Int ?? 0) > 40 }, "\(attack)")
    #expect(shards.filter { $0["shard"] as? String == "clean" }.allSatisfy { $0["poisoned"] as? Int == 0 })
    #expect(success[0] < success[1] - 0.1, "with sanitising \(success[0]), without \(success[1])")
  }

  @Test func badSanitizeKeysAreRefused() throws {
    for (sanitize, message) in [
      ("sanitize = { detectors = [\"magic\"] }", "one of spectral, clustering, confident, input"),
      ("sanitize = { detectors = [] }", "name at least one detector"),
      ("sanitize = { detectors = [\"input\"], epsilon = 0 }", "epsilon"),
      ("sanitize = { detectors = [\"input\"], model = \"rnn\" }", "logreg, mlp or cnn"),
      ("sanitize = { detectors = [\"input\"], fold = 3 }", "unknown key"),
    ] {
      let (file, _) = RunCommandTests.write(Self.topology(sanitize))
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains(message) && r.stderr.contains("sanitize"), "\(sanitize): \(r.stderr)")
    }
  }

  /// FLTrust's root dataset passes the same pipeline (recorded as the "root" entry).
  @Test func theRootDatasetIsSanitizedToo() throws {
    let text = Self.topology("sanitize = { detectors = [\"input\"] }")
      .replacingOccurrences(of: "rounds = 150", with: "rounds = 5")
      .replacingOccurrences(of: "eval_every = 50", with: "eval_every = 5\naggregator = \"fltrust\"\nroot_dataset_size = 300")
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--threads", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let dir = try #require(r.json?["run_dir"] as? String)
    let data = try #require(FileManager.default.contents(atPath: dir + "/sanitize.json"))
    let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let root = (report["shards"] as? [[String: Any]])?.first { $0["shard"] as? String == "root" }
    #expect(root?["samples"] as? Int == 300 && root?["worker"] is NSNull, "\(String(describing: root))")
  }
}
