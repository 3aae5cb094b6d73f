import ArgumentParser
import Foundation
import Runtime
import Tensor
import Transport

/// `byzsim role coordinator|worker|hub`: the process roles, hidden from the top-level help
/// (`byzsim run` spawns them; multi-host launches start them by hand). The same commands answer
/// as `byzsim coordinator`, `byzsim worker` and `byzsim hub`, the names earlier releases documented.
struct RoleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "role", abstract: "Run one process role of a prepared run directory (multi-host launches).",
    discussion: """
      Examples:
        byzsim role coordinator --run-dir runs/two-host-20261126-190524
        byzsim role worker --run-dir byzsim/run --id 0 --endpoint tcp://10.0.0.1:5555
      """,
    shouldDisplay: false,
    subcommands: [CoordinatorCommand.self, WorkerCommand.self, HubCommand.self])
}

/// `byzsim coordinator`: the coordinator role alone (spawned by `run`, or started by hand on one host).
struct CoordinatorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "coordinator", abstract: "Run the coordinator of a prepared run directory.", shouldDisplay: false)
  @Option(help: "The run directory (from `byzsim prepare` or `byzsim run`).", completion: .directory)
  var runDir: String
  @Flag(help: "Continue from the run directory's checkpoint.")
  var resume = false
  @Option(help: "Seconds to wait for every worker to join.")
  var startupTimeout: Int = 60
  @Flag(help: .hidden)
  var launched = false
  @Flag(help: "Resume from an unsigned or changed checkpoint anyway (warns).")
  var allowUnsigned = false

  func run() throws {
    Interrupts.resetToDefaults()  // spawned by a front end that ignores them: die on SIGTERM/SIGINT
    BLAS.threads = 1
    let run = RunDirectory(path: runDir)
    let topology = try run.loadTopology()
    let wiring = try Wiring.load(run: run, topology: topology, role: .coordinator, threads: false)
    let context = try Context(ioThreads: 2)
    let coordinator = try Coordinator(
      run: run, topology: topology, wiring: wiring, context: context, resume: resume, allowUnsigned: allowUnsigned)
    let measured = try coordinator.run(startupTimeout: .seconds(startupTimeout))
    try run.writeCoordinatorSummary(measured)
    // Started by hand (multi-host), it also evaluates the run; under `byzsim run` the launcher does.
    if !launched { _ = try RunEvaluation.complete(run, measured: measured, mode: "processes") }
    usleep(200_000)  // let the shutdown frames leave before the context closes
  }
}

/// `byzsim worker`: one worker role.
struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker", abstract: "Run one worker of a prepared run directory.", shouldDisplay: false)
  @Option(help: "The run directory (its shard, keys and topology).", completion: .directory)
  var runDir: String
  @Option(help: "This worker's id.")
  var id: Int
  @Option(help: "The coordinator's endpoint (default: the topology's; tcp://HOST:PORT across hosts).")
  var endpoint: String?
  @Option(help: "This worker's CURVE secret key file (default: keys/worker-ID.secret in the run directory).")
  var keyFile: String?
  @Option(help: "Claim this worker id in frames (for security tests: the coordinator must refuse it).")
  var claimId: Int?

  func run() throws {
    Interrupts.resetToDefaults()  // spawned by a front end that ignores them: die on SIGTERM/SIGINT
    BLAS.threads = 1
    let run = RunDirectory(path: runDir)
    let topology = try run.loadTopology()
    var key: CurveKeyPair?
    if let keyFile {
      guard let data = FileManager.default.contents(atPath: keyFile) else { throw UserError("\(keyFile): cannot read the key file") }
      let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      guard let k = CurveKeyPair(secretKey: text) else { throw UserError("\(keyFile): not a CURVE secret key (40 Z85 characters)") }
      key = k
    }
    // With --key-file the run directory need not hold this worker's secret at all.
    var wiring = try Wiring.load(run: run, topology: topology, role: key == nil ? .worker(id) : .launcher, threads: false)
    if let endpoint { wiring.endpoint = endpoint; wiring.workerEndpoint = endpoint }
    let worker = try Worker(id: id, run: run, topology: topology, wiring: wiring, context: try Context(), secretKey: key)
    try worker.run(claimID: claimId)
  }
}

/// `byzsim hub`: the adversary hub of a run with update attacks.
struct HubCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hub", abstract: "Run the adversary hub of a prepared run directory (spawned by `byzsim run`).", shouldDisplay: false)
  @Option(help: "The run directory.", completion: .directory)
  var runDir: String

  func run() throws {
    Interrupts.resetToDefaults()  // spawned by a front end that ignores them: die on SIGTERM/SIGINT
    BLAS.threads = 1
    let run = RunDirectory(path: runDir)
    let topology = try run.loadTopology()
    guard topology.hasUpdateAttacks else { throw UserError("\(runDir): this run has no update attack; it needs no hub.") }
    let wiring = try Wiring.load(run: run, topology: topology, role: .hub, threads: false)
    let hub = try AdversaryHub(run: run, topology: topology, wiring: wiring, context: try Context())
    try hub.serve()
  }
}
