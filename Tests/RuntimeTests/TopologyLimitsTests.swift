import Foundation
import Testing
@testable import Runtime
import TOML

/// Nonsense topologies get an error that names the key and the reason — never a crash at
/// validation, and never a value that aborts a run later.
@Suite struct TopologyLimitsTests {
  static let base = """
    name = "n"
    rounds = 100
    [model]
    kind = "mlp"
    [[workers]]
    count = 4
    """

  /// (what to change, the key the error must name). Each replaces or appends to the base.
  static let nonsense: [(String, String)] = [
    ("rounds = 10000000000", "rounds"),
    ("rounds = 0", "rounds"),
    ("[model]\nkind = \"mlp\"\nhidden = [1000000000]", "model"),
    ("[model]\nkind = \"mlp\"\nhidden = [60000, 60000]", "model"),
    ("[model]\nkind = \"mlp\"\nhidden = [0]", "model.hidden"),
    ("[[workers]]\ncount = 9223372036854775807", "workers[1].count"),
    ("[[workers]]\ncount = 4095", "workers"),
    ("[training]\nlearning_rate = 1e300", "training.learning_rate"),
    ("[training]\nlearning_rate = nan", "training.learning_rate"),
    ("[training]\nbatch_size = 9223372036854775807", "training.batch_size"),
    ("[training]\nweight_decay = 1e39", "training.weight_decay"),
    ("[training]\nlocal_steps = 100000000", "training.local_steps"),
    ("[coordinator]\nround_deadline_ms = 9223372036854775807", "coordinator.round_deadline_ms"),
    ("[coordinator]\nliveness_ms = 9223372036854775807", "coordinator.liveness_ms"),
    ("[coordinator]\nheartbeat_ms = 1000000", "coordinator.heartbeat_ms"),
    ("[coordinator]\nmax_update_norm = 1e30", "coordinator.max_update_norm"),
    ("[coordinator]\nmax_update_norm = inf", "coordinator.max_update_norm"),
    ("[coordinator]\nserver_learning_rate = 1e39", "coordinator.server_learning_rate"),
    ("[coordinator]\neval_every = 10000000000", "coordinator.eval_every"),
    ("[coordinator]\naggregator = { name = \"krum\", f = nan }", "coordinator.aggregator.f"),
    ("[data]\ntrain_limit = 100000000000", "data.train_limit"),
    ("[data]\npartition = { kind = \"shards\", classes_per_worker = 11 }", "data.partition.classes_per_worker"),
    ("[data]\npartition = { kind = \"dirichlet\", alpha = inf }", "data.partition.alpha"),
    ("[data]\ndir = \"\"", "data.dir"),
    ("[audit]\nh = 1e300", "audit.h"),
    ("[[workers]]\ncount = 1\nbehavior = \"alie\"\nstart_round = 100", "workers[1].start_round"),
    ("[[workers]]\ncount = 1\nbehavior = \"alie\"\nattack = { z = inf }", "workers[1].attack.z"),
    ("name = \"\(String(repeating: "x", count: 300))\"", "name"),
  ]

  @Test(arguments: nonsense)
  func nonsenseIsRefusedNamingTheKey(change: String, key: String) {
    // Top-level keys must precede the tables; a table replaces the base's table of that name.
    var text: String
    if change.hasPrefix("[[workers]]") {
      text = Self.base + "\n" + change
    } else if change.hasPrefix("[") {
      let header = String(change.prefix { $0 != "\n" })
      text =
        Self.base.contains(header)
        ? Self.base.replacingOccurrences(of: header + "\nkind = \"mlp\"", with: change)
        : Self.base + "\n" + change
    } else {
      let k = String(change.prefix { $0 != " " })
      text = Self.base.split(separator: "\n").filter { !$0.hasPrefix(k + " ") }.joined(separator: "\n")
      text = change + "\n" + text
    }
    do {
      _ = try Topology.decode(text, file: "n.toml")
      Issue.record("accepted: \(change)")
    } catch let e as TopologyError {
      #expect(e.key == key, "\(change) → \(e)")
    } catch {
      Issue.record("\(change): not a TopologyError: \(error)")
    }
  }

  @Test func deepNestingIsRefusedWithoutExhaustingTheStack() {
    for (open, close) in [("[", "]"), ("{a=", "}")] {
      let text = "x = " + String(repeating: open, count: 50_000) + String(repeating: close, count: 50_000) + "\n"
      #expect(throws: TOMLParseError.self) { try TOML.parse(text) }
    }
    let dotted = "[" + Array(repeating: "a", count: 50_000).joined(separator: ".") + "]\n"
    #expect(throws: TOMLParseError.self) { try TOML.parse(dotted) }
    // 64 levels are fine.
    #expect((try? TOML.parse("x = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64))) != nil)
  }
}
