import Foundation
import Testing

/// Logical clients (`clients = N`, `clients_per_round = K`, `pool = P`) run by the real binary:
/// the same seed gives bit-identical runs whatever the pool, processes or threads, and a client
/// computes exactly what a worker process with the same id and shard computes.
@Suite(.serialized) struct ClientsRunTests {
  /// Honest clients, an omniscient ALIE group (through the hub) and a label-flipping group,
  /// trimmed mean and two auditors.
  static func topology(rounds: Int, head: String, groups: (honest: Int, alie: Int, flip: Int), f: Int) -> String {
    """
    name = "clients"
    seed = 11
    rounds = \(rounds)
    \(head)
    [data]
    train_limit = 3000
    test_limit = 500
    [model]
    kind = "mlp"
    hidden = [32]
    [training]
    batch_size = 8
    learning_rate = 0.1
    [coordinator]
    eval_every = 3
    checkpoint_every = 3
    heartbeat_ms = 100
    liveness_ms = 3000
    round_deadline_ms = 5000
    aggregator = { name = "trimmed_mean", f = \(f) }
    auditors = ["norm_zscore", "cosine"]
    [[workers]]
    count = \(groups.honest)
    [[workers]]
    count = \(groups.alie)
    behavior = "alie"
    knowledge = "omniscient"
    [[workers]]
    count = \(groups.flip)
    data_attack = "label_flip"
    [security]
    curve = true
    """
  }

  static func run(_ file: String, _ runs: String, _ extra: [String]) throws -> String {
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + extra)
    #expect(r.status == 0, "\(extra): \(r.stderr)")
    return try #require(r.json?["run_dir"] as? String)
  }

  @Test func samePoolProcessesOrThreadsGiveBitIdenticalRuns() throws {
    let (file, runs) = RunCommandTests.write(
      Self.topology(rounds: 6, head: "clients = 400\nclients_per_round = 24\npool = 2", groups: (340, 40, 20), f: 5))
    let one = try Self.run(file, runs, ["--set", "pool=1"])
    let three = try Self.run(file, runs, ["--set", "pool=3"])
    let threads = try Self.run(file, runs, ["--threads"])
    // Only the count of live pool processes may differ.
    func results(_ dir: String) throws -> [NSDictionary] {
      try RunCommandTests.metrics(dir).map { m in
        var m = m
        m["workers_alive"] = nil
        return NSDictionary(dictionary: m)
      }
    }
    #expect(try results(one) == results(three), "pool 1 vs pool 3")
    #expect(try results(one) == results(threads), "processes vs threads")
    #expect(try RunCommandTests.metrics(three).allSatisfy { $0["workers_alive"] as? Int == 3 })
    #expect(RunCommandTests.sameModel(one, three) && RunCommandTests.sameModel(one, threads))
    // Every round draws 24 of the 400 clients, a different set each round, and aggregates them all.
    let metrics = try RunCommandTests.metrics(one)
    var seen = Set<[Int]>()
    for m in metrics {
      let participants = try #require(m["participants"] as? [Int])
      #expect(participants.count == 24 && participants == participants.sorted() && participants.allSatisfy { (0..<400).contains($0) })
      #expect(m["aggregated"] as? [Int] == participants)
      #expect((m["update_norms"] as? [String: Double])?.count == 24)
      seen.insert(participants)
    }
    #expect(seen.count == metrics.count)
    // The ground truth names the malicious clients (ids 340..<400); the pool size is no part of it.
    let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: one + "/truth.json"))) as! [String: Any]
    #expect(truth["malicious"] as? [Int] == Array(340..<400))
    // No shard file per client: the pool draws the shards from the data files.
    #expect(!FileManager.default.fileExists(atPath: one + "/shards/worker-0.bin"))
  }

  /// With every client its own process and drawn every round, a run of logical clients is the
  /// run of the same workers: same shards, batches, hub answers and aggregates, to the bit.
  @Test func everyClientAProcessIsTheWorkersRun() throws {
    let groups = (honest: 5, alie: 1, flip: 1)
    let (workersFile, runs) = RunCommandTests.write(Self.topology(rounds: 4, head: "", groups: groups, f: 1))
    let (clientsFile, _) = RunCommandTests.write(
      Self.topology(rounds: 4, head: "clients = 7\nclients_per_round = 7\npool = 7", groups: groups, f: 1))
    let w = try Self.run(workersFile, runs, [])
    let c = try Self.run(clientsFile, runs, [])
    #expect(try RunCommandTests.sameMetrics(w, c))
    #expect(RunCommandTests.sameModel(w, c))
  }

  @Test func validateDescribesTheClientsAndRefusesWhatTheyCannotDo() throws {
    let (good, _) = RunCommandTests.write(
      Self.topology(rounds: 2, head: "clients = 400\nclients_per_round = 24\npool = 2", groups: (340, 40, 20), f: 5))
    let ok = try CLI.run(["validate", good])
    #expect(ok.status == 0 && ok.stdout.contains("400 clients (24 per round) on a pool of 2 processes"), "\(ok.stdout)\(ok.stderr)")
    let sum = try CLI.run(["validate", good, "--set", "clients=500"])
    #expect(sum.status != 0 && sum.stderr.contains("must add up to 500: found 400"), "\(sum.stderr)")
    let fraction = try CLI.run(["validate", good, "--set", "coordinator.sample_fraction=0.5"])
    #expect(fraction.status != 0 && fraction.stderr.contains("not supported with logical clients"), "\(fraction.stderr)")
    let (orphan, _) = RunCommandTests.write("rounds = 2\nclients_per_round = 3\n[[workers]]\ncount = 2\n")
    let o = try CLI.run(["validate", orphan])
    #expect(o.status != 0 && o.stderr.contains("\(orphan):2: clients_per_round: clients_per_round needs clients = N"), "\(o.stderr)")
    let tooMany = try CLI.run(["validate", good, "--set", "clients_per_round=401"])
    #expect(tooMany.status != 0 && tooMany.stderr.contains("clients_per_round"), "\(tooMany.stderr)")
  }
}
