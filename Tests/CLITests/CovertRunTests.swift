import Foundation
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
