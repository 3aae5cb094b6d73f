import Foundation
import Testing

/// Auditors in real runs: no false alarms on honest IID data, attackers named, exclusion.
@Suite(.serialized) struct AuditRunTests {
  static func topology(_ extra: String, rounds: Int, attackers: String = "") -> String {
    """
    name = "audit"
    rounds = \(rounds)
    [coordinator]
    eval_every = 20
    auditors = ["all"]
    \(extra)
    [[workers]]
    count = \(attackers.isEmpty ? 13 : 10)
    \(attackers)
    """
  }

  func run(_ text: String) throws -> (json: [String: Any], dir: String) {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json", "--threads"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    return (json, json["run_dir"] as! String)
  }

  /// The requirement: an honest-only IID run flags nobody over 200 rounds at the defaults.
  @Test func honestOnlyRunFlagsNobody() throws {
    let (json, dir) = try run(Self.topology("", rounds: 200))
    let detection = try #require(json["detection"] as? [String: Any])
    #expect(detection["false_positive_rate"] as? Double == 0)
    let metrics = try RunCommandTests.metrics(dir)
    #expect(metrics.count == 200)
    #expect(metrics.allSatisfy { (($0["audit"] as? [String: Any])?["flagged"] as? [Int])?.isEmpty == true })
    let events = (try? String(contentsOfFile: dir + "/events.log", encoding: .utf8)) ?? ""
    #expect(!events.contains("audit flags"))
  }

  @Test func signFlippersAreNamedAndExcluded() throws {
    let attackers = "[[workers]]\ncount = 3\nbehavior = \"sign_flip\""
    let (json, dir) = try run(Self.topology("[audit]\nmode = \"exclude\"", rounds: 40, attackers: attackers))
    let d = try #require(json["detection"] as? [String: Any])
    #expect(d["precision"] as? Double == 1 && d["recall"] as? Double == 1 && d["f1"] as? Double == 1)
    let first = try #require(d["rounds_to_first_detection"] as? [String: Int])
    #expect(first.count == 3 && first.values.allSatisfy { $0 < 20 })
    #expect((d["auc"] as? [String: Any])?["cosine"] as? Double == 1)
    // Excluded once flagged: the last rounds aggregate only honest workers.
    let metrics = try RunCommandTests.metrics(dir)
    #expect((metrics.last?["aggregated"] as? [Int]) == Array(0..<10))
    #expect(metrics.contains { $0["detection"] is [String: Any] })
    let csv = try String(contentsOfFile: dir + "/detections.csv", encoding: .utf8)
    #expect(csv.hasPrefix("round,flagged,precision,recall,f1,false_positive_rate") && csv.contains("\"10 11 12\""))
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(events.contains("audit flags worker 10") && events.contains("excluded from aggregation") && events.contains("cosine="))
  }

  @Test func topologyChecksAuditKeys() throws {
    let (unknown, _) = RunCommandTests.write(Self.topology("", rounds: 2).replacingOccurrences(of: "[\"all\"]", with: "[\"cosin\"]"))
    let bad = try CLI.run(["validate", unknown])
    #expect(bad.status != 0 && bad.stderr.contains("one of norm_zscore"), "\(bad.stderr)")
    let (noAuditors, _) = RunCommandTests.write("rounds = 2\n[audit]\nmode = \"exclude\"\n[[workers]]\ncount = 3")
    let r = try CLI.run(["validate", noAuditors])
    #expect(r.status != 0 && r.stderr.contains("exclude needs auditors"))
  }
}
