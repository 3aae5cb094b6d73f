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
    subcommands: [CoordinatorCommand.self, WorkerCommand.self, HubCommand.self, RankCommand.self])
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
    try Self.serve(
      run: RunDirectory(path: runDir), hubEndpoint: nil, resume: resume, allowUnsigned: allowUnsigned,
      startupTimeout: startupTimeout, evaluate: !launched)
  }

  /// Runs the coordinator of `run` to its end; `evaluate` when no `byzsim run` front end will.
  static func serve(
    run: RunDirectory, hubEndpoint: String?, resume: Bool, allowUnsigned: Bool, startupTimeout: Int, evaluate: Bool
  ) throws {
    let topology = try run.loadTopology()
    var wiring = try Wiring.load(run: run, topology: topology, role: .coordinator, threads: false)
    if let hubEndpoint { wiring.hubEndpoint = hubEndpoint }
    let context = try Context(ioThreads: 2)
    let coordinator = try Coordinator(
      run: run, topology: topology, wiring: wiring, context: context, resume: resume, allowUnsigned: allowUnsigned)
    let measured = try coordinator.run(startupTimeout: .seconds(startupTimeout))
    try run.writeCoordinatorSummary(measured)
    // Started by hand (multi-host), it also evaluates the run; under `byzsim run` the launcher does.
    if evaluate { _ = try RunEvaluation.complete(run, measured: measured, mode: "processes") }
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
    var key: CurveKeyPair?
    if let keyFile {
      guard let data = FileManager.default.contents(atPath: keyFile) else { throw UserError("\(keyFile): cannot read the key file") }
      let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      guard let k = CurveKeyPair(secretKey: text) else { throw UserError("\(keyFile): not a CURVE secret key (40 Z85 characters)") }
      key = k
    }
    try Self.serve(id: id, run: run, endpoint: endpoint, hubEndpoint: nil, secretKey: key, claimID: claimId)
  }

  /// Runs worker `id` of `run` to its end.
  static func serve(id: Int, run: RunDirectory, endpoint: String?, hubEndpoint: String?, secretKey key: CurveKeyPair?, claimID: Int?) throws
  {
    let topology = try run.loadTopology()
    // With --key-file the run directory need not hold this worker's secret at all.
    var wiring = try Wiring.load(run: run, topology: topology, role: key == nil ? .worker(id) : .launcher, threads: false)
    if let endpoint { wiring.endpoint = endpoint; wiring.workerEndpoint = endpoint }
    if let hubEndpoint { wiring.hubEndpoint = hubEndpoint }
    if topology.clients != nil {
      // A process of the pool that simulates the run's logical clients.
      guard claimID == nil else { throw UserError("--claim-id: a pool process of logical clients speaks as its own id") }
      try ClientPool(id: id, run: run, topology: topology, wiring: wiring, context: try Context(), secretKey: key).run()
      return
    }
    let worker = try Worker(id: id, run: run, topology: topology, wiring: wiring, context: try Context(), secretKey: key)
    try worker.run(claimID: claimID)
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
    try Self.serve(run: RunDirectory(path: runDir), bind: nil)
  }

  /// Serves the hub of `run` until the coordinator ends the run; `bind` replaces its ipc endpoint.
  static func serve(run: RunDirectory, bind: String?) throws {
    let topology = try run.loadTopology()
    guard topology.hasUpdateAttacks else { throw UserError("\(run.path): this run has no update attack; it needs no hub.") }
    var wiring = try Wiring.load(run: run, topology: topology, role: .hub, threads: false)
    if let bind { wiring.hubEndpoint = bind }
    let hub = try AdversaryHub(run: run, topology: topology, wiring: wiring, context: try Context())
    try hub.serve()
  }
}

/// `byzsim role rank`: one rank of a cluster launch (`byzsim launch slurm|mpirun`). Its rank
/// comes from srun or mpirun's environment, its role from `launch/plan.json`, the coordinator's
/// address from `BYZSIM_COORDINATOR_HOST`; each role reads only its own directory: the
/// coordinator the run directory, the hub and each worker its bundle.
struct RankCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rank", abstract: "Run one rank of a `byzsim launch` (started by srun or mpirun).", shouldDisplay: false)
  @Option(help: "The launched run directory (its launch/plan.json).", completion: .directory)
  var launch: String
  @Option(help: "The role this command line launches: coordinator, hub or worker (checked against the plan).")
  var role: String
  @Option(help: "Seconds the coordinator waits for every worker to join.")
  var startupTimeout: Int = 120

  func run() throws {
    Interrupts.resetToDefaults()
    BLAS.threads = 1
    guard let claimed = LaunchPlan.RankRole(rawValue: role) else {
      throw ValidationError("--role \(role): coordinator, hub or worker")
    }
    let run = RunDirectory(path: launch)
    let plan = try ClusterLaunch.loadPlan(run)
    let rank = try LaunchPlan.rankFromEnvironment()
    let host = ProcessInfo.processInfo.environment["BYZSIM_COORDINATOR_HOST"] ?? ""
    switch try plan.role(ofRank: rank, claimed: claimed) {
    case .coordinator:
      try CoordinatorCommand.serve(
        run: run, hubEndpoint: plan.hasHub ? "tcp://127.0.0.1:\(plan.hubPort)" : nil, resume: false, allowUnsigned: false,
        startupTimeout: startupTimeout, evaluate: true)
    case .hub:
      try HubCommand.serve(run: RunDirectory(path: ClusterLaunch.bundlePath(run, .hub)), bind: "tcp://0.0.0.0:\(plan.hubPort)")
    case let .worker(id):
      guard !host.isEmpty else {
        throw UserError("BYZSIM_COORDINATOR_HOST is not set: the launch script sets it to the coordinator's address")
      }
      try WorkerCommand.serve(
        id: id, run: RunDirectory(path: ClusterLaunch.bundlePath(run, .worker(id))), endpoint: "tcp://\(host):\(plan.coordinatorPort)",
        hubEndpoint: plan.hasHub ? "tcp://\(host):\(plan.hubPort)" : nil, secretKey: nil, claimID: nil)
    }
  }
}
