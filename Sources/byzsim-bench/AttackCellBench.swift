import ArgumentParser
import Foundation
import Runtime
import Tensor

/// `byzsim-bench attack-cell`: the cost of an attack at paper scale — Fang et al.'s
/// full-knowledge attack on Krum against the same cell without attack (Fang's Table 2 setup:
/// CNN, 100 worker processes, 20 attackers, CURVE off), as processes and as threads.
struct AttackCellBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attack-cell",
    abstract: "An attack cell at paper scale vs the same cell without attack (ms per iteration), processes and threads.",
    discussion: """
      Runs the topology (default experiments/papers/bases/fang2020.toml) with aggregator Krum
      (f = 20) twice per mode: every worker honest, then workers[1] (the 20 attackers) with
      fang_krum_full and omniscient knowledge. ms per iteration is the median over the rounds
      after --skip (the first rounds fill the heaps) without an evaluation. Aims (issue 20): the
      attack cell within 1.3× of the cell without attack; threads at least as fast as processes.
      Figures vary ±15% run to run on a 2-core VM: --repeats N alternates the cells N times and
      takes the median of the runs.
      """)

  @Option(help: "Topology of the cells.")
  var topology: String = "experiments/papers/bases/fang2020.toml"
  @Option(help: "Rounds (iterations) per run.")
  var rounds: Int = 14
  @Option(help: "First rounds left out of the median.")
  var skip: Int = 3
  @Option(help: "Runs per cell (alternating attack and no attack).")
  var repeats: Int = 1
  @Option(parsing: .upToNextOption, help: "Modes to measure: processes, threads.")
  var modes: [String] = ["processes", "threads"]
  @Flag(help: "One JSON object instead of the table.")
  var json = false

  struct Cell: Encodable {
    let mode: String
    let attack: Bool
    let msPerIteration: Double
    let runs: [Double]
  }
  struct Report: Encodable {
    let cells: [Cell]
    let ratios: [String: Double]
    let aimRatio: Double
  }

  func validate() throws {
    guard rounds > skip + 1 else { throw ValidationError("--rounds must exceed --skip + 1 (got \(rounds) and \(skip))") }
    guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
    for m in modes where m != "processes" && m != "threads" { throw ValidationError("--modes: unknown mode \(m) (processes, threads)") }
  }

  func run() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("byzsim-bench-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let plain = try [
      "rounds=\(rounds)", "coordinator.eval_every=\(rounds + 1)", "coordinator.checkpoint_every=\(rounds + 1)",
      "coordinator.aggregator={name=\"krum\",f=20}",
    ].map(TopologyOverride.init)
    let attack = try plain + ["workers[1].behavior=\"fang_krum_full\"", "workers[1].knowledge=\"omniscient\""].map(TopologyOverride.init)
    var cells: [Cell] = []
    var ratios: [String: Double] = [:]
    for mode in modes {
      var times: [Bool: [Double]] = [false: [], true: []]
      for r in 0..<repeats {
        for hostile in [false, true] {
          let t = try Topology.load(path: topology, overrides: hostile ? attack : plain)
          let ms = try iteration(t, threads: mode == "threads", root: root)
          times[hostile]!.append(ms)
          if !json {
            FileHandle.standardError.write(
              Data(String(format: "  %@, %@, run %d: %.0f ms/iteration\n", mode, hostile ? "attack" : "no attack", r + 1, ms).utf8))
          }
        }
      }
      for hostile in [false, true] {
        cells.append(Cell(mode: mode, attack: hostile, msPerIteration: median(times[hostile]!), runs: times[hostile]!))
      }
      ratios[mode] = median(times[true]!) / median(times[false]!)
    }
    if json {
      let e = JSONEncoder()
      e.keyEncodingStrategy = .convertToSnakeCase
      e.outputFormatting = [.sortedKeys]
      print(String(decoding: try e.encode(Report(cells: cells, ratios: ratios, aimRatio: 1.3)), as: UTF8.self))
      return
    }
    print("Fang full-knowledge Krum attack vs no attack (\(topology), \(rounds) rounds, median after \(skip)):")
    for mode in modes {
      let a = cells.first { $0.mode == mode && $0.attack }!, n = cells.first { $0.mode == mode && !$0.attack }!
      print(
        String(
          format: "  %@: no attack %.0f ms/iteration, attack %.0f ms/iteration: %.2f×   (aim ≤ 1.3×: %@)", mode, n.msPerIteration,
          a.msPerIteration, ratios[mode]!, ratios[mode]! <= 1.3 ? "met" : "not met"))
    }
    if let p = cells.first(where: { $0.mode == "processes" && $0.attack }),
      let t = cells.first(where: { $0.mode == "threads" && $0.attack })
    {
      print(
        String(
          format: "  attack cell: threads %.0f vs processes %.0f ms/iteration   (aim threads ≤ processes: %@)", t.msPerIteration,
          p.msPerIteration, t.msPerIteration <= p.msPerIteration ? "met" : "not met"))
    }
  }

  /// Median ms per iteration of one run, rounds after `skip` without an evaluation.
  func iteration(_ t: Topology, threads: Bool, root: String) throws -> Double {
    let run = try BenchRuns.prepare(t, root: root)
    var metrics: [RoundMetrics] = []
    if threads {
      _ = try Launcher.runThreads(run, resume: false) { metrics.append($0) }
    } else {
      _ = try Launcher.runProcesses(run, resume: false, binary: BenchRuns.byzsim, monitor: { _ in }, onRound: { metrics.append($0) })
    }
    return median(metrics.filter { $0.round > skip && $0.testAccuracy == nil }.map(\.timing.roundMs))
  }

  func median(_ v: [Double]) -> Double { v.isEmpty ? 0 : Statistics.median(v) }
}
