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
    #expect(first.count == 3 && first.values.allSatisfy { $0 >= 1 && $0 < 20 })
    #expect((d["auc"] as? [String: Any])?["cosine"] as? Double == 1)
    // Excluded once flagged: the last rounds aggregate only honest workers.
    let metrics = try RunCommandTests.metrics(dir)
    #expect((metrics.last?["aggregated"] as? [Int]) == Array(0..<10))
    // metrics.jsonl has one writer (the coordinator, blind to the truth): detection per
    // evaluation round is in detections.csv, one row per round that has a test accuracy.
    #expect(!metrics.contains { $0["detection"] != nil })
    let csv = try String(contentsOfFile: dir + "/detections.csv", encoding: .utf8)
    #expect(csv.split(separator: "\n").count == 1 + metrics.filter { $0["test_accuracy"] is Double }.count)
    // One numbering: rounds 1 … 40 in metrics.jsonl, the evaluation rounds (every 20th) in
    // detections.csv, the first detection as the round of the first metrics line flagging one.
    #expect(metrics.map { $0["round"] as? Int } == Array(1...40))
    #expect(csv.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) } == ["20", "40"])
    let firstFlag = metrics.first { m in
      !Set(((m["audit"] as? [String: Any])?["flagged"] as? [Int]) ?? []).isDisjoint(with: [10, 11, 12])
    }
    #expect(first.values.min() == firstFlag?["round"] as? Int)
    #expect(csv.hasPrefix("round,flagged,precision,recall,f1,false_positive_rate") && csv.contains("\"10 11 12\""))
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(events.contains("audit flags worker 10") && events.contains("excluded from aggregation") && events.contains("cosine="))
    #expect(events.contains("round \(first.values.min()!): audit flags worker"))
    // The run's report: loss, per-worker norms and z-scores with the three sign flippers of
    // truth.json drawn red and dashed (the ten honest workers thin), detection per round.
    let report = try CLI.run(["report", dir])
    #expect(report.status == 0, "\(report.stderr)")
    for file in ["accuracy.svg", "loss.svg", "update-norms.svg", "audit-z.svg", "detection.svg"] {
      #expect(FileManager.default.fileExists(atPath: dir + "/" + file), "\(file)")
    }
    #expect(!FileManager.default.fileExists(atPath: dir + "/attack-success.svg"))  // an untargeted attack
    for file in ["update-norms.svg", "audit-z.svg"] {
      let svg = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
      let lines = svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }
      #expect(lines.filter { $0.contains("#d62728") && $0.contains("stroke-dasharray") }.count == 3, "\(file)")
      #expect(lines.filter { $0.contains("stroke-width=\"1\"") }.count == 10, "\(file)")
      #expect(svg.contains("malicious (3 workers)") && svg.contains("honest (10 workers)"))
    }
    let detection = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
    #expect(detection.contains("first malicious worker flagged at round \(first.values.min()!)"))
    let layout = try Chromium.layoutProblems(of: dir + "/report.html", screenshot: dir + "/report.png", dir: CLI.temporaryDirectory().path)
    #expect(layout.problems.isEmpty, "\(layout.problems)")
    #expect(layout.texts > 40)
  }

  /// The auditors' histories and CUSUM ride in the checkpoint: a coordinator killed after the
  /// sign flippers were flagged resumes into the same verdicts, metrics and model as a run that
  /// was never interrupted.
  @Test func auditedRunResumesBitIdentically() throws {
    let text = """
      name = "audit-resume"
      seed = 4
      rounds = 120
      [data]
      train_limit = 3000
      test_limit = 500
      [model]
      kind = "cnn"
      [coordinator]
      eval_every = 5
      checkpoint_every = 5
      heartbeat_ms = 100
      liveness_ms = 2000
      auditors = ["all"]
      [audit]
      mode = "exclude"
      [[workers]]
      count = 4
      [[workers]]
      count = 1
      behavior = "sign_flip"
      """
    let (file, runs) = RunCommandTests.write(text)
    let reference = try CLI.run(["run", file, "--runs-dir", runs + "-ref", "--json", "--threads"])
    #expect(reference.status == 0, "\(reference.stderr)")
    let (run, _) = try RunCommandTests.startRun(["run", file, "--runs-dir", runs])
    var dir = ""
    try RunCommandTests.waitFor("a checkpoint after the first flag") {
      if let d = RunCommandTests.newestRun(in: runs) { dir = d }
      return !dir.isEmpty && RunCommandTests.lines(dir + "/metrics.jsonl") >= 23
    }
    kill(try #require(RunCommandTests.pid(dir, "coordinator")), SIGKILL)
    run.waitUntilExit()
    let events = try String(contentsOfFile: dir + "/events.log", encoding: .utf8)
    #expect(events.contains("audit flags worker 4"), "the kill came before the verdict: \(events)")
    let resumed = try CLI.run(["run", "--resume", dir, "--json"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect((resumed.json?["resumed_from_round"] as? Int ?? 0) >= 20)
    let ref = try #require(reference.json?["run_dir"] as? String)
    #expect(try RunCommandTests.sameMetrics(dir, ref))
    #expect(RunCommandTests.sameModel(dir, ref))
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
