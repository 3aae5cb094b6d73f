import Foundation

/// The ranks of a launch under a cluster launcher (`byzsim launch slurm|mpirun`): rank 0 the
/// coordinator, rank 1 the adversary hub when the run has update attacks, then one rank per
/// worker. Written once by `launch` as `launch/plan.json`; every rank reads it to learn its role.
/// Slurm and MPI only start the processes: ZeroMQ still carries the updates, over TCP.
public struct LaunchPlan: Codable, Sendable, Equatable {
  /// `slurm` or `mpirun`.
  public var scheduler: String
  /// Where the coordinator binds (`tcp://0.0.0.0:PORT`); workers reach it at the coordinator
  /// node's address and this port.
  public var coordinatorPort: Int
  /// The hub's port on the coordinator's node (runs with update attacks; 0 otherwise).
  public var hubPort: Int
  public var workers: Int
  /// The rank of worker 0.
  public var firstWorkerRank: Int
  public var ranks: Int { firstWorkerRank + workers }
  public var hasHub: Bool { hubPort != 0 }

  public enum RankRole: String, CaseIterable, Sendable { case coordinator, hub, worker }

  /// What a launched rank runs: a `Role` other than the launcher's.
  public enum Part: Sendable, Equatable, CustomStringConvertible {
    case coordinator, hub, worker(Int)
    public var role: Role {
      switch self {
      case .coordinator: .coordinator
      case .hub: .hub
      case let .worker(id): .worker(id)
      }
    }
    public var description: String { role.description }
  }

  /// The part process `rank` plays, checked against the role its command line names (a
  /// multi-prog or MPMD line that disagrees with the plan is an error, not a silent swap).
  public func role(ofRank rank: Int, claimed: RankRole) throws -> Part {
    guard rank >= 0, rank < ranks else { throw RuntimeError("rank \(rank): this launch has ranks 0..<\(ranks)") }
    let actual: Part = rank == 0 ? .coordinator : (hasHub && rank == 1 ? .hub : .worker(rank - firstWorkerRank))
    let matches =
      switch (claimed, actual) {
      case (.coordinator, .coordinator), (.hub, .hub), (.worker, .worker): true
      default: false
      }
    guard matches else {
      throw RuntimeError("rank \(rank) is \(actual) in launch/plan.json, but was started as --role \(claimed.rawValue)")
    }
    return actual
  }

  /// The rank of this process, from the launcher's environment.
  public static func rankFromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
    for key in ["SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"] {
      guard let text = env[key] else { continue }
      guard let r = Int(text), r >= 0 else { throw RuntimeError("\(key)=\(text): not a rank") }
      return r
    }
    throw RuntimeError(
      "no rank in the environment (SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK): `byzsim role rank` runs under srun or mpirun, started by the script `byzsim launch` writes"
    )
  }
}

/// Prepares a run for a cluster launcher and writes its launch files (`launch/`).
public enum ClusterLaunch {
  /// The planned run: the coordinator's run directory (it keeps only the coordinator's secret
  /// key), one bundle per other role under `bundles/` (each with only its own secret and
  /// shard), and `launch/plan.json`.
  public static func prepare(_ topology: Topology, runsRoot: String, scheduler: String, port: Int?) throws -> (RunDirectory, LaunchPlan) {
    try checkLaunchable(topology)
    var t = topology
    let coordinatorPort = try port ?? tcpPort(topology.coordinator.endpoint) ?? 5555
    guard (1...65534).contains(coordinatorPort) else {
      throw RuntimeError("--port \(coordinatorPort): a TCP port 1-65534 (the hub takes the next one)")
    }
    t.coordinator.endpoint = "tcp://0.0.0.0:\(coordinatorPort)"
    let hubPort = t.hasUpdateAttacks ? coordinatorPort + 1 : 0
    let plan = LaunchPlan(
      scheduler: scheduler, coordinatorPort: coordinatorPort, hubPort: hubPort, workers: t.processCount,
      firstWorkerRank: hubPort != 0 ? 2 : 1)
    let run = try Launcher.prepare(t, runsRoot: runsRoot)
    var roles: [Role] = (0..<t.processCount).map { .worker($0) }
    if plan.hasHub { roles.insert(.hub, at: 0) }
    for role in roles {
      _ = try Launcher.bundle(run, roles: [role], to: bundlePath(run, role))
      // The coordinator's directory keeps only the coordinator's secret.
      let secret = run.secretKeyFile(role.description)
      if FileManager.default.fileExists(atPath: secret) { try FileManager.default.removeItem(atPath: secret) }
    }
    try FileManager.default.createDirectory(atPath: launchDirectory(run), withIntermediateDirectories: true)
    try run.writeJSON(plan, to: planFile(run))
    return (run, plan)
  }

  public static func launchDirectory(_ run: RunDirectory) -> String { run.file("launch") }
  public static func planFile(_ run: RunDirectory) -> String { run.file("launch/plan.json") }
  public static func bundlePath(_ run: RunDirectory, _ role: Role) -> String { run.file("bundles/\(role)") }

  /// Writes one launch file (a script 0755, a configuration 0644) under launch/; returns its path.
  public static func writeLaunchFile(_ run: RunDirectory, name: String, text: String, executable: Bool) throws -> String {
    let path = (launchDirectory(run) as NSString).appendingPathComponent(name)
    try Files.writeAtomically(Array(text.utf8), to: path, mode: executable ? 0o755 : 0o644)
    return path
  }

  public static func loadPlan(_ run: RunDirectory) throws -> LaunchPlan {
    do {
      return try JSONDecoder.snake.decode(LaunchPlan.self, from: Data(try Files.read(planFile(run))))
    } catch let e as FileFormatError {
      throw e
    } catch {
      throw FileFormatError(path: planFile(run), message: "not a launch plan (\(error))")
    }
  }

  /// What a launch across hosts cannot carry yet, refused before anything is written.
  static func checkLaunchable(_ topology: Topology) throws {
    if topology.hasEavesdropper {
      throw RuntimeError("a mantissa covert channel needs the local wiretap of `byzsim run`; it cannot be launched under slurm or mpirun")
    }
    if !topology.covertWorkers().isEmpty {
      throw RuntimeError("covert channels write their receivers' files beside the run; launch this topology with `byzsim run`")
    }
    if topology.workers.contains(where: { $0.supplyChain != nil }) {
      throw RuntimeError(
        "supply_chain workers start with a preloaded library that `byzsim run` sets up; launch this topology with `byzsim run`")
    }
  }

  /// The port of a `tcp://HOST:PORT` endpoint (nil for ipc/inproc).
  static func tcpPort(_ endpoint: String) throws -> Int? {
    guard endpoint.hasPrefix("tcp://") else { return nil }
    guard let colon = endpoint.lastIndex(of: ":"), let p = Int(endpoint[endpoint.index(after: colon)...]) else {
      throw RuntimeError("coordinator.endpoint \(endpoint): no port; give --port")
    }
    return p
  }
}
