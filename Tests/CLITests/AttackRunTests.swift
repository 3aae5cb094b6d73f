import Foundation
import Testing

/// Attacks through real runs: the hub's collusion, rejections, drops and backdoor success.
@Suite(.serialized) struct AttackRunTests {
  static func topology(_ groups: String, rounds: Int = 12, aggregator: String = "\"mean\"") -> String {
    """
    name = "atk"
    seed = 4
    rounds = \(rounds)
    [data]
    train_limit = 3000
    test_limit = 500
    [model]
    kind = "mlp"
    [training]
    learning_rate = 0.1
    [coordinator]
    eval_every = 4
    aggregator = \(aggregator)
    [[workers]]
    count = 6
    \(groups)
    """
  }

  func run(_ text: String, threads: Bool = true) throws -> (json: [String: Any], metrics: [[String: Any]]) {
    let (file, runs) = RunCommandTests.write(text)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + (threads ? ["--threads"] : []))
    #expect(r.status == 0, "\(r.stderr)")
    let json = try #require(r.json)
    return (json, try RunCommandTests.metrics(json["run_dir"] as! String))
  }

  func norms(_ m: [String: Any]) -> [String: Double] { m["update_norms"] as! [String: Double] }

  /// Omniscient ALIE through the hub process with CURVE: the three attackers submit one
  /// coordinated vector, in well-formed frames the coordinator accepts (no rejection).
  @Test func hubCoordinatesAttackersOverRealProcesses() throws {
    let (json, m) = try run(Self.topology("[[workers]]\ncount = 3\nbehavior = \"alie\"\nknowledge = \"omniscient\""), threads: false)
    #expect((json["rejected_frames"] as? [String: Int])?.isEmpty == true)
    for round in m {
      let n = norms(round)
      #expect(n["6"] == n["7"] && n["7"] == n["8"])
      #expect(n["6"] != n["0"])
      #expect((round["aggregated"] as! [Int]).count == 9)
    }
  }

  @Test func ownKnowledgeSignFlipAndRejectionsAndDrops() throws {
    // Sign flip: the attacker's norm equals what its honest update's norm would be; the run completes.
    let (_, flip) = try run(Self.topology("[[workers]]\ncount = 2\nbehavior = \"sign_flip\""))
    #expect(flip.count == 12)
    // NaN updates are rejected (counted) and never aggregated.
    let (nanJSON, nan) = try run(Self.topology("[[workers]]\ncount = 2\nbehavior = \"nan\""))
    #expect((nanJSON["rejected_frames"] as? [String: Int])?["non_finite"] == 24)
    #expect(nan.allSatisfy { ($0["aggregated"] as! [Int]) == [0, 1, 2, 3, 4, 5] })
    #expect((nanJSON["test_accuracy"] as? Double ?? 0) > 0.5)
    // Silent drop from round 4 on: the rounds close at the deadline without them... quickly, since
    // the round closes when every live participant answered or the deadline passes.
    let text = Self.topology("[[workers]]\ncount = 1\nbehavior = \"drop\"\nstart_round = 10").replacingOccurrences(
      of: "eval_every = 4", with: "eval_every = 4\nround_deadline_ms = 300")
    let (_, drop) = try run(text)
    #expect((drop[9]["aggregated"] as! [Int]).contains(6))
    #expect(!(drop[10]["aggregated"] as! [Int]).contains(6))
  }

  /// Re-sampled malicious set: each round exactly `active` of the group's 4 workers attack
  /// (sign flip sends −update: its norm equals an honest update's, so count the drawn set
  /// through a drop attack instead: dropped workers are missing from `aggregated`).
  @Test func resampledMaliciousSetChangesEachRound() throws {
    let (_, m) = try run(
      Self.topology("[[workers]]\ncount = 4\nbehavior = \"drop\"\nresample = true\nactive = 2").replacingOccurrences(
        of: "eval_every = 4", with: "eval_every = 4\nround_deadline_ms = 300"))
    var sets = Set<[Int]>()
    for round in m {
      let agg = Set(round["aggregated"] as! [Int])
      let missing = (6..<10).filter { !agg.contains($0) }
      #expect(missing.count == 2, "\(round["round"]!): \(missing)")
      sets.insert(missing)
    }
    #expect(sets.count > 1)
  }

  @Test func backdoorSuccessRateIsReported() throws {
    let groups =
      "[[workers]]\ncount = 2\nbehavior = \"scaling\"\nattack = { gamma = 4 }\ndata_attack = { name = \"backdoor\", target = 2, fraction = 0.6 }"
    let (json, m) = try run(Self.topology(groups, rounds: 20))
    let asr = try #require(json["attack_success_rate"] as? Double)
    #expect(asr >= 0 && asr <= 1)
    #expect(m.contains { $0["attack_success_rate"] is Double })
    #expect(m.contains { $0["attack_success_rate"] is NSNull })
    // An untargeted attack reports null.
    let (untargeted, _) = try run(Self.topology("[[workers]]\ncount = 1\nbehavior = \"ipm\""))
    #expect(untargeted["attack_success_rate"] is NSNull)
  }

  /// Sign flipping with scale 4 by 2 of 8 workers turns the mean gradient around
  /// ((6 − 2·4)/8 = −¼ of the honest one): the test loss climbs at every evaluation and passes
  /// the untrained model's ln 10 ≈ 2.30 (uniform predictions over 10 classes).
  @Test func signFlipMovesTheModelUphill() throws {
    let (_, m) = try run(Self.topology("[[workers]]\ncount = 2\nbehavior = \"sign_flip\"\nattack = { scale = 4 }"))
    let losses = m.compactMap { $0["test_loss"] as? Double }
    #expect(losses.count == 3)
    #expect(zip(losses, losses.dropFirst()).allSatisfy { $0 < $1 }, "\(losses)")
    #expect(losses.first! > log(10.0), "\(losses)")
  }

  /// Model replacement (Bagdasaryan et al. 2020) in FedAvg: one of ten workers trains on a
  /// backdoored shard and boosts its delta. Under the mean the backdoor is implanted (success far
  /// above the clean model's rate on the same triggered images); norm bounding (Sun et al.
  /// 2019) at 0.5, below the honest deltas' norms (about 2), removes it.
  @Test func backdoorIsImplantedUnderMeanAndRemovedByNormBounding() throws {
    func topology(_ aggregator: String, attacker: String) -> String {
      """
      name = "bd"
      seed = 4
      rounds = 30
      [data]
      train_limit = 3000
      test_limit = 500
      [model]
      kind = "mlp"
      [training]
      learning_rate = 0.1
      local_steps = 5
      [coordinator]
      eval_every = 5
      aggregator = \(aggregator)
      [[workers]]
      count = 9
      [[workers]]
      count = 1
      \(attacker)
      """
    }
    let backdoor = "behavior = \"scaling\"\nattack = { gamma = 10 }\ndata_attack = { name = \"backdoor\", target = 2, fraction = 0.6 }"
    // The clean model: the same group trains honestly on an unpoisoned shard (a fraction that
    // rounds to no sample), so the success rate is measured on the same triggered images.
    let clean = "data_attack = { name = \"backdoor\", target = 2, fraction = 0.001 }"
    let (c, _) = try run(topology("\"mean\"", attacker: clean))
    let (a, _) = try run(topology("\"mean\"", attacker: backdoor))
    let (b, _) = try run(topology("{ name = \"norm_bounding\", norm_bound = 0.5 }", attacker: backdoor))
    let baseline = try #require(c["attack_success_rate"] as? Double)
    let implanted = try #require(a["attack_success_rate"] as? Double)
    let bounded = try #require(b["attack_success_rate"] as? Double)
    #expect(baseline < 0.1, "the clean model's rate: \(baseline)")
    #expect(implanted > baseline + 0.5, "mean: \(implanted) vs clean \(baseline)")
    #expect(bounded < baseline + 0.15, "norm bounding: \(bounded) vs clean \(baseline)")
  }

  @Test func topologyRefusesKnowledgeMismatchAndUnknownAttacks() throws {
    for (groups, phrase) in [
      ("[[workers]]\ncount = 2\nbehavior = \"mimic\"", "needs the honest updates: set knowledge = \"omniscient\""),
      ("[[workers]]\ncount = 2\nbehavior = \"alie\"\nattack = { zz = 1 }", "alie has no parameter 'zz'"),
      ("[[workers]]\ncount = 2\nbehavior = \"alee\"", "one of honest, sign_flip"),
      ("[[workers]]\ncount = 2\nbehavior = \"alie\"\nresample = true\nactive = 3", "between 1 and the group's count (2)"),
      ("[[workers]]\ncount = 2\nbehavior = \"alie\"\nactive = 1", "active needs resample = true"),
      ("[[workers]]\ncount = 2\ndata_attack = { name = \"backdoor\", target = 11 }", "target must be a class"),
    ] {
      let (file, _) = RunCommandTests.write(Self.topology(groups))
      let r = try CLI.run(["validate", file])
      #expect(r.status != 0 && r.stderr.contains(phrase), "\(phrase): \(r.stderr)")
    }
  }
}
