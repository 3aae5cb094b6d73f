import Foundation
import TestSupport
import Testing
@testable import Data
@testable import Runtime

@Suite struct TopologyTests {
  static let valid = """
    name = "t"
    seed = 3
    rounds = 5

    [data]
    partition = { kind = "dirichlet", alpha = 0.3 }
    train_limit = 1000

    [model]
    kind = "cnn"

    [training]
    batch_size = 16
    local_steps = 2

    [coordinator]
    eval_every = 2
    aggregator = { name = "trimmed_mean", f = 1 }
    preaggregators = ["nnm", { name = "clipping", c = 5.5 }]

    [[workers]]
    count = 4

    [[workers]]
    count = 2
    behavior = "honest"

    [security]
    curve = false
    """

  @Test func decodesEveryKey() throws {
    let t = try Topology.decode(Self.valid, file: "t.toml")
    #expect(t.name == "t" && t.seed == 3 && t.rounds == 5)
    #expect(t.data.partition == .dirichlet(alpha: 0.3) && t.data.trainLimit == 1000)
    #expect(t.model.kind == .cnn && t.training.batchSize == 16 && t.training.localSteps == 2)
    #expect(t.coordinator.evalEvery == 2 && t.coordinator.aggregator == RuleSpec(name: "trimmed_mean", params: ["f": 1]))
    // Specs are resolved at decoding: the plug-in's defaults are filled in (nnm's f = 0).
    #expect(t.coordinator.preaggregators == [RuleSpec(name: "nnm", params: ["f": 0]), RuleSpec(name: "clipping", params: ["c": 5.5])])
    #expect(t.workerCount == 6 && t.behavior(of: 5) == "honest" && !t.security.curve)
  }

  @Test func shippedTopologiesValidate() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("topologies")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }
    #expect(files.contains("default.toml"))
    for f in files { _ = try Topology.load(path: dir.appendingPathComponent(f).path) }
  }

  /// (text, line, key, a phrase of the message)
  @Test(arguments: [
    ("rounds = 5\nroundz = 3\n[[workers]]\ncount = 1", 2, "roundz", "unknown key"),
    ("[[workers]]\ncount = 2\n[training]\nbatch_size = \"big\"", 4, "training.batch_size", "expected an integer, found a string \"big\""),
    (
      "[[workers]]\ncount = 10\n[coordinator]\naggregator = { name = \"krum\", f = 4 }", 4, "coordinator.aggregator",
      "Krum needs n > 2f + 2: got n=10, f=4"
    ),
    ("[[workers]]\ncount = 10\n[coordinator]\naggregator = \"krumm\"", 4, "coordinator.aggregator", "one of mean, median"),
    (
      "[[workers]]\ncount = 10\n[coordinator]\naggregator = { name = \"trimmed_mean\", g = 1 }", 4, "coordinator.aggregator",
      "has no parameter 'g'"
    ),
    ("[[workers]]\ncount = 10\n[coordinator]\naggregator = \"fltrust\"", 4, "coordinator.aggregator", "root_dataset_size"),
    (
      "[[workers]]\ncount = 10\n[coordinator]\npreaggregators = [{ name = \"bucketing\", s = 2 }]\naggregator = { name = \"krum\", f = 2 }",
      5, "coordinator.aggregator", "got n=5, f=2"
    ),
    ("[[workers]]\ncount = 10\n[coordinator]\npreaggregators = [\"nmm\"]", 4, "coordinator.preaggregators", "one of nnm"),
    ("[[workers]]\ncount = 2\nbehavior = \"alee\"", 3, "workers[0].behavior", "one of honest, sign_flip"),
    ("[data]\npartition = { kind = \"group_bias\", p = 0.5 }\n[[workers]]\ncount = 4", 2, "data.partition", "4 workers for 10 classes"),
    ("[[workers]]\ncount = 0", 2, "workers[0].count", "at least 1 worker"),
    ("[model]\nkind = \"resnet\"\n[[workers]]\ncount = 1", 2, "model.kind", "one of logreg, mlp, cnn"),
    ("[training]\nmomentum = 1.5\n[[workers]]\ncount = 1", 2, "training.momentum", "[0, 1)"),
    ("[coordinator]\nheartbeat_ms = 500\nliveness_ms = 600\n[[workers]]\ncount = 1", 3, "coordinator.liveness_ms", "two heartbeats"),
    ("[data]\npartition = \"dirichlet\"\n[[workers]]\ncount = 1", 2, "data.partition", "kinds: iid, dirichlet"),
    ("[data.partition]\nkind = \"shards\"\nsize = 3\n[[workers]]\ncount = 1", 3, "data.partition.size", "unknown key"),
    ("rounds = 5", 1, "workers", "add at least one [[workers]]"),
    ("[data]\ndataset = \"csv\"\n[[workers]]\ncount = 1", 1, "data.file", "missing: add file = \"...\""),
    (
      "[data]\ndataset = \"csv\"\nfile = \"t.csv\"\ntest_fraction = 1.0\n[[workers]]\ncount = 1", 4, "data.test_fraction",
      "a share of the rows in (0, 1)"
    ),
    (
      "[data]\ndataset = \"csv\"\nfile = \"t.csv\"\nlabel_column = 1.5\n[[workers]]\ncount = 1", 4, "data.label_column",
      "expected an integer"
    ),
    ("[data]\nfile = \"t.csv\"\n[[workers]]\ncount = 1", 2, "data.file", "unknown key"),
    ("[data]\nlong_tail = 0\n[[workers]]\ncount = 1", 2, "data.long_tail", "a share β in (0, 1]"),
    ("[data]\nlong_tail = \"half\"\n[[workers]]\ncount = 1", 2, "data.long_tail", "expected a number"),
    ("[data]\ndataset = \"mnist\"\n[[workers]]\ncount = 1", 2, "data.dataset", "one of fashion-mnist, idx, csv"),
    ("rounds = = 5", 1, "", "not valid TOML"),
  ])
  func errorsNameFileKeyAndLine(text: String, line: Int, key: String, phrase: String) {
    do {
      _ = try Topology.decode(text, file: "bad.toml")
      Issue.record("accepted:\n\(text)")
    } catch let e as TopologyError {
      #expect(e.file == "bad.toml")
      #expect(e.line == line, "\(e)")
      #expect(e.key == key, "\(e)")
      #expect(e.description.contains(phrase), "\(e)")
      #expect(e.description.hasPrefix("bad.toml:\(line):"))
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func attackSchedules() throws {
    let t = try Topology.decode(
      """
      [[workers]]
      count = 3
      [[workers]]
      count = 2
      behavior = "scaling"
      attack = { gamma = 5 }
      data_attack = { name = "backdoor", target = 1 }
      start_round = 10
      every = 5
      attack_local_steps = 40
      """, file: "s.toml")
    let g = t.workers[1]
    #expect(t.maliciousIDs == [3, 4] && t.members(ofGroup: 1) == [3, 4])
    #expect(
      g.attack == ["gamma": 5] && g.attackLocalSteps == 40
        && g.dataAttack == RuleSpec(name: "backdoor", params: ["target": 1, "fraction": 0.5, "size": 4]))
    #expect([9, 10, 11, 15, 20].map { g.attacks(round: $0) } == [false, true, false, true, true])
    #expect(g.poisons(round: 15) && !g.poisons(round: 16))
    #expect(!t.workers[0].isAttackRound(10))
  }

  @Test func missingFileIsExplained() {
    #expect(throws: TopologyError.self) { try Topology.load(path: "/nonexistent/x.toml") }
  }

  /// `long_tail = 0.5` on Fashion-MNIST (6,000 training and 1,000 test images per class): the
  /// shards hold ⌊6000·0.5ⁱ⌋ summed = 6000 + 3000 + 1500 + 750 + 375 + 187 + 93 + 46 + 23 + 11
  /// = 11,985 samples, and the coordinator evaluates on 1000 + 500 + 250 + 125 + 62 + 31 + 15 +
  /// 7 + 3 + 1 = 1,994 test images.
  @Test func aLongTailShrinksTheTrainingAndTestSetsAlike() throws {
    let topology = try Topology.decode(
      """
      name = "long-tail"
      rounds = 1
      [data]
      long_tail = 0.5
      partition = { kind = "shards", classes_per_worker = 1 }
      [[workers]]
      count = 4
      [security]
      curve = false
      """, file: "lt.toml")
    #expect(topology.data.longTail == 0.5)
    let run = try Launcher.prepare(topology, runsRoot: Scratch.directory("byzsim-lt").path)
    defer { Scratch.remove(URL(fileURLWithPath: run.path).deletingLastPathComponent()) }
    #expect(try run.loadManifest().shardSamples.reduce(0, +) == 11_985)
    #expect(try CoordinatorInputs(run: run, topology: topology).test.count == 1_994)
  }
}
