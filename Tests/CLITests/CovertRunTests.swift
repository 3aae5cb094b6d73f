import Data
import Foundation
import Runtime
import Testing

/// Covert channels in real runs: the mantissa channel read by a wiretap on the wire (and
/// defeated by CURVE), Song et al.'s encodings read from the final model, topology checks.
@Suite(.serialized) struct CovertRunTests {
  static func topology(_ covert: String, rounds: Int = 20, curve: Bool = false, extra: String = "", lr: String = "0.05") -> String {
    """
    name = "covert"
    seed = 3
    rounds = \(rounds)
    [data]
    train_limit = 2000
    test_limit = 500
    [model]
    kind = "logreg"
    [training]
    batch_size = 32
    learning_rate = \(lr)
    [coordinator]
    eval_every = 10
    round_deadline_ms = 5000
    \(extra)
    [[workers]]
    count = 3
    [[workers]]
    count = 1
    covert = \(covert)
    [security]
    curve = \(curve)
    """
  }

  func run(_ text: String, threads: Bool = false) throws -> (json: [String: Any], dir: String) {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + (threads ? ["--threads"] : []))
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    return (json, json["run_dir"] as! String)
  }

  func measures(_ json: [String: Any]) throws -> [String: Double] {
    let covert = try #require(json["covert"] as? [[String: Any]])
    #expect(covert.count == 1 && covert[0]["worker"] as? Int == 3)
    return try #require(covert[0]["measures"] as? [String: Double])
  }

  /// In clear, the wiretap recovers every hidden byte (logreg: 7,850 floats × 8 bits − 20-byte
  /// header = 7,830 bytes a round); with CURVE it sees ciphertext only and recovers nothing.
  @Test(arguments: [false, true])
  func mantissaChannelOverTheWire(curve: Bool) throws {
    let (json, dir) = try run(Self.topology("{ name = \"mantissa\", bits = 8 }", curve: curve, extra: "auditors = [\"mantissa_chi2\"]"))
    let m = try measures(json)
    #expect(m["bytes_per_round"] == 7830)
    #expect(m["rounds"] == 20 && m["bytes_sent"] == 20 * 7830)
    #expect(m["fraction_recovered"] == (curve ? 0 : 1))
    let stats =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/covert/eavesdropper.json"))) as! [String: Any]
    #expect(stats["connections"] as? Int ?? 0 >= 4)  // every worker's link goes through the tap
    if curve {
      #expect(stats["mechanisms"] as? [String] == ["CURVE"])
      #expect(stats["plaintext_messages"] as? Int == 0 && (stats["encrypted_messages"] as? Int ?? 0) >= 80)
    } else {
      #expect(stats["update_frames"] as? Int == 80 && stats["chunks_recovered"] as? Int == 20)
      // The χ² test of low mantissa bits names the sender (image bytes are far from uniform).
      let d = try #require(json["detection"] as? [String: Any])
      #expect(d["recall"] as? Double == 1 && d["false_positive_rate"] as? Double == 0)
    }
  }

  /// Sign encoding pulls the final model's signs towards the secret bits; the same receiver on
  /// the untouched initial model reads about half of them.
  @Test func signEncodingIsReadFromTheFinalModel() throws {
    let (json, _) = try run(Self.topology("{ name = \"sign_encoding\", lambda = 20000 }", rounds: 30), threads: true)
    let m = try measures(json)
    #expect(m["bits"] == 7850)
    #expect(try #require(m["initial_bit_accuracy"]) < 0.6)
    #expect(try #require(m["bit_accuracy"]) > 0.9)
  }

  @Test func capacityAbuseAndCorrelatedValueReportTheirReceivers() throws {
    let (cap, _) = try run(Self.topology("{ name = \"capacity_abuse\", inputs = 20, mix = 0.5 }", rounds: 60, lr: "0.2"), threads: true)
    let c = try measures(cap)
    #expect(c["inputs"] == 20 && c["bits"] == 60 && c["chance_label_accuracy"] == 0.125)
    #expect(try #require(c["label_accuracy"]) > 0.5)
    let (cv, _) = try run(Self.topology("{ name = \"correlated_value\", lambda = 100, images = 10 }", rounds: 30), threads: true)
    let v = try measures(cv)
    #expect(v["images"] == 10)
    #expect(try #require(v["pixel_error"]) < (try #require(v["initial_pixel_error"])) - 20)
  }

  /// The backdoored model leaks through `byzsim serve` (`byzsim attack leak`): the receiver
  /// reads from the file what the run's own receiver read; through a server under the label
  /// policy (labels are all it needs) it reads exactly the same; a budget of 40 predictions caps
  /// it at 40 labels; a query auditor that refuses flags the uniform-noise trigger queries after
  /// one window (the first request of 64 is answered, the second refused).
  @Test func capacityAbuseLeaksThroughTheServerUntilABudgetOrTheAuditorStopsIt() throws {
    let (json, run) = try self.run(
      Self.topology("{ name = \"capacity_abuse\", inputs = 150, mix = 0.5 }", rounds: 60, lr: "0.2"), threads: true)
    let inRun = try measures(json)
    let file = try CLI.run(["attack", "leak", "--run", run, "--json"])
    #expect(file.status == 0, "\(file.stderr)")
    for key in ["bits_recovered", "label_accuracy", "leaked_bits", "initial_label_accuracy"] {
      #expect(
        file.json?[key] as? Double == inRun[key] || (file.json?[key] as? Int).map(Double.init) == inRun[key], "\(key): \(file.stdout)")
    }
    let recovered = try #require(file.json?["bits_recovered"] as? Int)
    #expect(recovered > 150, "the channel carries more than chance (3 bits × 150 × 1/8 ≈ 56): \(file.stdout)")
    let dir = CLI.temporaryDirectory().path
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    try ServeTests.writeReference(test, images: 0..<300, to: dir + "/reference.csv")
    func hash(_ t: String) throws -> String {
      try CLI.run(["serve", "--hash-token", t]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    func config(_ name: String, audit: Bool) throws -> String {
      let text = """
        [server]
        request_log = "\(dir)/requests-\(name).jsonl"
        [[credentials]]
        id = "receiver"
        role = "predict"
        token_sha256 = "\(try hash("receiver-token-0123456789"))"
        output = "label"
        [[credentials]]
        id = "capped"
        role = "predict"
        token_sha256 = "\(try hash("capped-token-01234567890"))"
        output = "label"
        budget = 40
        """ + (audit ? "\n[query_audit]\nreference = \"\(dir)/reference.csv\"\nwindow = 50\nevery = 25\naction = \"refuse\"\n" : "")
      try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
      return dir + "/" + name
    }
    let model = run + "/model.safetensors"
    let open = try ServerProcess([model, "--config", try config("open.toml", audit: false)])
    defer { open.stop() }
    let url = "http://127.0.0.1:\(open.port)"
    let label = try CLI.run(["attack", "leak", url, "--token", "receiver-token-0123456789", "--run", run, "--json"])
    #expect(label.status == 0, "\(label.stderr)")
    #expect(label.json?["answered"] as? Int == 150 && label.json?["bits_recovered"] as? Int == recovered, "\(label.stdout)")
    #expect(label.json?["output"] as? String == "server" && label.json?["stopped"] is NSNull)
    let capped = try CLI.run(["attack", "leak", url, "--token", "capped-token-01234567890", "--run", run, "--json"])
    #expect(capped.json?["answered"] as? Int == 40 && capped.json?["stopped"] as? String == "budget", "\(capped.stdout)")
    #expect(try #require(capped.json?["bits_recovered"] as? Int) <= 120)
    let audited = try ServerProcess([model, "--config", try config("audited.toml", audit: true)])
    defer { audited.stop() }
    let refused = try CLI.run([
      "attack", "leak", "http://127.0.0.1:\(audited.port)", "--token", "receiver-token-0123456789", "--run", run, "--json",
    ])
    #expect(refused.status == 0, "\(refused.stderr)")
    #expect(refused.json?["answered"] as? Int == 64 && refused.json?["stopped"] as? String == "refused", "\(refused.stdout)")
    // A run without the channel, and a worker that does not send it, are clear errors.
    let wrong = try CLI.run(["attack", "leak", "--run", run, "--worker", "0"])
    #expect(wrong.status != 0 && wrong.stderr.contains("worker 0 sends no capacity_abuse channel"), "\(wrong.stderr)")
  }

  /// Leaked bits: a 2^k-ary symmetric channel's information per label (by hand: k = 3,
  /// a = 0.77 → 3 + 0.77·log₂0.77 + 0.23·log₂(0.23/7) = 1.5762970643802134).
  @Test func leakedBitsAreTheSymmetricChannelsInformation() {
    #expect(CapacityAbuseReceiver.information(accuracy: 1, bitsPerLabel: 3) == 3)
    #expect(abs(CapacityAbuseReceiver.information(accuracy: 0.77, bitsPerLabel: 3) - 1.5762970643802134) < 1e-12)
    #expect(abs(CapacityAbuseReceiver.information(accuracy: 0.5, bitsPerLabel: 3) - 0.5963225389711979) < 1e-12)
    #expect(abs(CapacityAbuseReceiver.information(accuracy: 0.125, bitsPerLabel: 3)) < 1e-12)
    #expect(CapacityAbuseReceiver.information(accuracy: 0.05, bitsPerLabel: 3) == 0)
  }

  @Test func topologyChecksCovertKeys() throws {
    let cases: [(String, String)] = [
      ("{ name = \"morse\" }", "unknown name \"morse\""),
      ("{ name = \"mantissa\", bits = 30 }", "bits must be in 1...16"),
      ("{ name = \"sign_encoding\", lamda = 3 }", "has no parameter 'lamda'"),
      ("{ name = \"capacity_abuse\", mix = 1 }", "mix must be in (0, 1)"),
    ]
    for (covert, message) in cases {
      let (file, _) = RunCommandTests.write(Self.topology(covert))
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains(message) && r.stderr.contains("covert"), "\(r.stderr)")
    }
    let both = Self.topology("{ name = \"mantissa\" }").replacingOccurrences(
      of: "count = 1\n", with: "count = 1\nbehavior = \"sign_flip\"\n")
    let (file, _) = RunCommandTests.write(both)
    #expect(try CLI.run(["validate", file]).stderr.contains("trains honestly otherwise"))
    let (sfile, _) = RunCommandTests.write(Self.topology("{ name = \"mantissa\" }", extra: "sanitize_mantissa_bits = 23"))
    #expect(try CLI.run(["validate", sfile]).stderr.contains("sanitize_mantissa_bits"))
    // The wiretap needs a wire: threads over inproc:// have none.
    let (tfile, runs) = RunCommandTests.write(Self.topology("{ name = \"mantissa\" }"))
    let t = try CLI.run(["run", tfile, "--runs-dir", runs, "--threads"])
    #expect(t.status != 0 && t.stderr.contains("no wire"), "\(t.stderr)")
  }
}
