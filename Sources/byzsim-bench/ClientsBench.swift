import ArgumentParser
import Foundation
import Runtime

/// `byzsim-bench clients`: logical clients (`clients = N`, `clients_per_round = K`) as processes
/// with CURVE — ms per round against K, and the peak memory of all processes against N.
struct ClientsBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clients",
    abstract: "Logical clients: ms/round vs clients per round, peak memory (PSS, all processes) vs clients.",
    discussion: """
      The topology (default topologies/clients.toml) is run as processes with CURVE, every client
      honest and aggregator = "mean" (FedSGD, MLP 784-100-10), with clients and clients_per_round
      set per cell. ms/round is the median over the rounds without an evaluation. Aims (issue 20):
      10,000 clients, 100 per round: ≤ 100 ms per round; 100,000 clients: ≤ 1 GB in total.
      """)

  @Option(help: "Topology to start from.")
  var topology: String = "topologies/clients.toml"
  @Option(help: "Clients of the ms/round cells.")
  var clients: Int = 10_000
  @Option(parsing: .upToNextOption, help: "Clients per round of the ms/round cells.")
  var perRound: [Int] = [10, 50, 100, 200]
  @Option(parsing: .upToNextOption, help: "Clients of the memory cells (100 per round).")
  var memoryClients: [Int] = [1_000, 10_000, 100_000]
  @Option(help: "Rounds per cell.")
  var rounds: Int = 40
  @Option(help: "Pool processes (default: the topology's).")
  var pool: Int?
  @Flag(help: "One JSON object instead of the table.")
  var json = false

  struct Cell: Encodable {
    let clients: Int, clientsPerRound: Int, pool: Int
    let msPerRound: Double, peakPSSMB: Double, testAccuracy: Double?
  }
  struct Report: Encodable {
    let speed: [Cell]
    let memory: [Cell]
    let aimMsPerRound: Double
    let aimPeakMB: Double
  }

  func run() throws {
    let base = try Topology.load(path: topology)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("byzsim-bench-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    var speed: [Cell] = [], memory: [Cell] = []
    if !json { print("ms per round vs clients per round (\(clients) clients, processes, CURVE \(base.security.curve ? "on" : "off")):") }
    for k in perRound {
      let c = try cell(base, clients: clients, perRound: k, root: root)
      speed.append(c)
      if !json {
        let aim = k == 100 && clients == 10_000 ? String(format: "   (aim ≤ 100 ms: %@)", c.msPerRound <= 100 ? "met" : "not met") : ""
        print(String(format: "  K = %4d: %7.1f ms/round, peak PSS %6.0f MB%@", k, c.msPerRound, c.peakPSSMB, aim))
      }
    }
    if !json { print("peak memory of all processes (PSS) vs clients (100 per round):") }
    for n in memoryClients {
      let c = try cell(base, clients: n, perRound: min(100, n), root: root)
      memory.append(c)
      if !json {
        let aim = n == 100_000 ? String(format: "   (aim ≤ 1024 MB: %@)", c.peakPSSMB <= 1024 ? "met" : "not met") : ""
        print(String(format: "  N = %7d: peak PSS %6.0f MB, %7.1f ms/round%@", n, c.peakPSSMB, c.msPerRound, aim))
      }
    }
    if json {
      let e = JSONEncoder()
      e.keyEncodingStrategy = .convertToSnakeCase
      e.outputFormatting = [.sortedKeys]
      let report = Report(speed: speed, memory: memory, aimMsPerRound: 100, aimPeakMB: 1024)
      print(String(decoding: try e.encode(report), as: UTF8.self))
    }
  }

  /// One run of `base` with N clients, K per round, everyone honest, the mean.
  func cell(_ base: Topology, clients n: Int, perRound k: Int, root: String) throws -> Cell {
    var t = base
    t.rounds = rounds
    t.coordinator.evalEvery = rounds
    t.coordinator.checkpointEvery = rounds
    t.coordinator.aggregator = RuleSpec(name: "mean")
    t.coordinator.preaggregators = []
    t.coordinator.auditors = []
    t.workers = [WorkerGroup(count: n)]
    t.clients = ClientSettings(count: n, perRound: k, pool: min(k, pool ?? base.clients?.pool ?? 2))
    let run = try BenchRuns.prepare(t, root: root)
    var peakPSS = 0.0
    var metrics: [RoundMetrics] = []
    let summary = try Launcher.runProcesses(
      run, resume: false, binary: BenchRuns.byzsim,
      monitor: { pids in peakPSS = max(peakPSS, pids.values.reduce(0) { $0 + WireBench.pssMB($1) }) },
      onRound: { metrics.append($0) })
    let times = metrics.filter { $0.testAccuracy == nil }.map(\.timing.roundMs).sorted()
    return Cell(
      clients: n, clientsPerRound: k, pool: t.clients!.pool, msPerRound: times.isEmpty ? 0 : times[times.count / 2], peakPSSMB: peakPSS,
      testAccuracy: summary.testAccuracy)
  }
}
