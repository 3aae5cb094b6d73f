import Foundation
import TestSupport
import Testing
@testable import Experiments
@testable import Runtime

@Suite struct SweepSpecTests {
  static func files(_ sweep: String) -> String {
    let dir = Scratch.directory("byzsim-sweep")
    try! """
    name = "base"
    rounds = 10
    [coordinator]
    aggregator = "mean"
    [[workers]]
    count = 10
    [[workers]]
    count = 3
    behavior = "sign_flip"
    """.write(to: dir.appendingPathComponent("base.toml"), atomically: true, encoding: .utf8)
    let path = dir.appendingPathComponent("s.sweep.toml").path
    try! sweep.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func gridProductSetAndSeeds() throws {
    let spec = try SweepSpec.load(
      path: Self.files(
        """
        name = "s"
        base = "base.toml"
        seeds = [4, 5]
        [set]
        rounds = 3
        [grid]
        "coordinator.aggregator" = ["median", { name = "trimmed_mean", f = 3 }]
        "workers[1].behavior" = ["alie", "ipm", "sign_flip"]
        """))
    #expect(spec.cells.count == 6 && spec.gridKeys == ["coordinator.aggregator", "workers[1].behavior"])
    let c = spec.cells[4]  // second aggregator, second behaviour (first key varies slowest)
    #expect(c.id == "c005" && c.values.map(\.1) == ["{name = \"trimmed_mean\", f = 3}", "\"ipm\""])
    let (seed, t) = c.topologies[1]
    #expect(seed == 5 && t.seed == 5 && t.rounds == 3 && t.name == "s-c005-s5")
    #expect(t.coordinator.aggregator == RuleSpec(name: "trimmed_mean", params: ["f": 3]) && t.workers[1].behavior == "ipm")
  }

  @Test(arguments: [
    ("name = \"s\"\nbase = \"base.toml\"\n[grid]\n\"workers[1].behavior\" = [\"alie\", \"nope\"]", 4, "cell c002"),
    ("name = \"s\"\nbase = \"base.toml\"\n[grid]\n\"coordinator.aggregator\" = [{ name = \"krum\", f = 6 }]", 4, "Krum needs n > 2f + 2"),
    ("name = \"s\"\nbase = \"base.toml\"\n[grid]\n\"workers[5].count\" = [1]", 4, "no table workers[5]"),
    ("name = \"s\"\nbase = \"missing.toml\"", 2, "cannot read the base topology"),
    ("name = \"s\"\nbase = \"base.toml\"\nseed = [1]", 3, "unknown key"),
  ])
  func errorsNameTheSweepFileAndLine(text: String, line: Int, phrase: String) {
    let path = Self.files(text)
    do {
      _ = try SweepSpec.load(path: path)
      Issue.record("accepted")
    } catch let e as TopologyError {
      #expect(e.file == path && e.line == line, "\(e)")
      #expect(e.description.contains(phrase), "\(e)")
    } catch {
      Issue.record("\(error)")
    }
  }

  /// [1, 2, 3, 4]: mean 2.5, s = 1.2910, t(0.975, 3) = 3.182 → half-width 2.0540 (by hand).
  @Test func confidenceInterval() {
    let (m, ci) = Statistics.meanCI([1, 2, 3, 4])!
    #expect(m == 2.5 && abs(ci! - 3.182 * 1.2909944 / 2) < 1e-6)
    #expect(Statistics.meanCI([0.5])!.ci95 == nil)
    #expect(Statistics.meanCI([]) == nil)
  }
}
