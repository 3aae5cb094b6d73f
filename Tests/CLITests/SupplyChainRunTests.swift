import Foundation
import Testing

/// The trojaned BLAS in a run (`supply_chain` in `[[workers]]`) and measured start-up
/// (`security.attestation`): without enforcement the preloaded library wrecks the mean and the
/// attestation log names it; under enforce the trojaned workers are refused and the run trains on
/// the others.
@Suite(.serialized) struct SupplyChainRunTests {
  static func topology(attestation: String, aggregator: String = "mean", trojan: String = "mode = \"scale\", factor = 10.0") -> String {
    """
    name = "trojan"
    seed = 1
    rounds = 15
    [data]
    train_limit = 6000
    test_limit = 500
    [model]
    kind = "mlp"
    hidden = [32]
    [training]
    batch_size = 32
    learning_rate = 0.05
    [coordinator]
    eval_every = 15
    aggregator = "\(aggregator)"
    [security]
    attestation = "\(attestation)"
    [[workers]]
    count = 6
    [[workers]]
    count = 2
    supply_chain = { name = "trojan_blas", \(trojan) }
    """
  }

  func run(_ text: String, _ args: [String] = []) throws -> [String: Any] {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + args)
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json, "\(r.stdout) \(r.stderr)")
  }

  func attestations(_ dir: String) throws -> [[String: Any]] {
    try String(contentsOfFile: dir + "/attestations.jsonl", encoding: .utf8).split(separator: "\n").map {
      try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
  }

  @Test func observedTheTrojanWrecksTheMeanEnforcedItIsRefused() throws {
    let observed = try run(Self.topology(attestation: "observe"))
    #expect((observed["test_accuracy"] as? Double ?? 1) < 0.3, "\(observed)")
    let dir = observed["run_dir"] as! String
    let lines = try attestations(dir)
    #expect(lines.count == 8)
    for line in lines {
      let w = line["worker"] as! Int, departures = line["departures"] as! [String]
      #expect(line["admitted"] as? Bool == true)
      if w >= 6 {
        #expect(
          departures.contains { $0.contains("supply-chain/trojan-blas-group-1.so is mapped but not in the expected measurement") },
          "\(departures)")
        #expect(departures.contains { $0.hasPrefix("LD_PRELOAD is ") }, "\(departures)")
      } else {
        #expect(departures.isEmpty, "worker \(w): \(departures)")
      }
    }
    // Each worker hashed only what the launcher had not (MeasuredFiles): nothing, or the
    // preloaded library.
    for w in 0..<8 {
      let log = try String(contentsOfFile: dir + "/logs/worker-\(w).log", encoding: .utf8)
      #expect(
        log.contains("measured start-up: ") && log.contains(w >= 6 ? " files, 1 hashed, " : " files, 0 hashed, "), "worker \(w): \(log)")
    }
    let manifest = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as? [String: Any])
    #expect((manifest["supply_chain"] as? [String: String])?["1"]?.count == 64 && manifest["attestation"] != nil)

    let enforced = try run(Self.topology(attestation: "enforce"))
    #expect((enforced["test_accuracy"] as? Double ?? 0) > 0.6, "\(enforced)")
    #expect(((enforced["rejected_frames"] as? [String: Int])?["attestation_mismatch"] ?? 0) >= 2, "\(enforced)")
    let metrics = try RunCommandTests.metrics(enforced["run_dir"] as! String)
    #expect(metrics.count == 15 && metrics.allSatisfy { ($0["aggregated"] as? [Int]) == [0, 1, 2, 3, 4, 5] }, "\(metrics.last ?? [:])")
    let events = try String(contentsOfFile: (enforced["run_dir"] as! String) + "/events.log", encoding: .utf8)
    #expect(events.contains("attestation mismatch: worker 6:") && events.contains(": refused"), "\(events)")

    // Without attestation nothing is measured, and the median withstands what the mean does not.
    let median = try run(Self.topology(attestation: "off", aggregator: "median"))
    #expect((median["test_accuracy"] as? Double ?? 0) > 0.6, "\(median)")
    #expect(!FileManager.default.fileExists(atPath: (median["run_dir"] as! String) + "/attestations.jsonl"))
  }

  /// Workers checked against an allowlist (`byzsim attest` on "their host"): the right one lets
  /// them in; one whose OpenBLAS digest differs refuses them all, and the run says why.
  @Test func anAllowlistFromByzsimAttest() throws {
    let dir = CLI.temporaryDirectory().path
    let attest = try CLI.run(["attest", "--out", dir + "/expected.json"])
    #expect(attest.status == 0, "\(attest.stderr)")
    let clean = Self.topology(attestation: "enforce")
      .replacingOccurrences(
        of: "[[workers]]\ncount = 2\nsupply_chain = { name = \"trojan_blas\", mode = \"scale\", factor = 10.0 }", with: ""
      )
      .replacingOccurrences(
        of: "attestation = \"enforce\"", with: "attestation = \"enforce\"\nattestation_allowlist = \"\(dir)/expected.json\"")
    let ok = try run(clean)
    #expect(ok["workers_alive"] as? Int == 6 && (ok["rejected_frames"] as? [String: Int] ?? [:]).isEmpty, "\(ok)")
    var expected = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as? [String: Any])
    var objects = try #require(expected["objects"] as? [String: String])
    let blas = try #require(objects.keys.first { $0.contains("libopenblas") })
    objects[blas] = String(repeating: "0", count: 64)
    expected["objects"] = objects
    try JSONSerialization.data(withJSONObject: expected).write(to: URL(fileURLWithPath: dir + "/expected.json"))
    let (file, runs) = RunCommandTests.write(clean)
    let refused = try CLI.run(["run", file, "--runs-dir", runs])
    #expect(refused.status != 0 && refused.stderr.contains("every worker was refused at start-up"), "\(refused.stderr)")
  }

  @Test func badSettingsAreClearErrors() throws {
    let cases = [
      (Self.topology(attestation: "sometimes"), "attestation"),
      (Self.topology(attestation: "off", trojan: "mode = \"melt\""), "supply_chain.mode"),
      (Self.topology(attestation: "off").replacingOccurrences(of: "trojan_blas", with: "trojan_lapack"), "supply_chain.name"),
    ]
    for (text, key) in cases {
      let (file, _) = RunCommandTests.write(text)
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains(key), "\(key): \(r.stderr)")
    }
    let (file, runs) = RunCommandTests.write(Self.topology(attestation: "off"))
    let threads = try CLI.run(["run", file, "--runs-dir", runs, "--threads"])
    #expect(threads.status != 0 && threads.stderr.contains("supply_chain preloads a compromised library"), "\(threads.stderr)")
  }
}
