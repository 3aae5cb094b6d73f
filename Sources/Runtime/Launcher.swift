import Attacks
import Data
import Foundation
import Synchronization
import Learning
import Tensor
import Transport

/// Prepares run directories and runs a topology as processes or threads.
public enum Launcher {
  /// This process's executable (the `byzsim` binary that spawns its own roles).
  public static var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  // MARK: Threads

  /// Runs the coordinator and every worker as threads of this process over inproc://: the
  /// coordinator on the calling thread, the hub and the workers each on a thread of its own,
  /// started once what they connect to is listening. A worker or hub that fails ends the run
  /// with its error.
  public static func runThreads(
    _ run: RunDirectory, resume: Bool, allowUnsigned: Bool = false, onRound: @escaping (RoundMetrics) -> Void
  ) throws -> RunSummary {
    let topology = try run.loadTopology()
    if topology.hasEavesdropper {
      throw RuntimeError(
        "the mantissa channel's receiver is an eavesdropper on the wire, and threads talk over inproc:// (no wire): run it as processes (without --threads)"
      )
    }
    if topology.workers.contains(where: { $0.supplyChain != nil }) {
      throw RuntimeError(
        "supply_chain preloads a compromised library into its workers' processes, and threads share one process: run it as processes (without --threads)"
      )
    }
    try checkNotInUse(run)
    try Integrity.checkShards(run)
    let wiring = try Wiring.load(run: run, topology: topology, role: .launcher, threads: true)
    let context = try Context()
    defer { context.shutdown() }
    BLAS.threads = 1
    HeapReuse.threadsMode()
    let failures = RoleFailures()
    if topology.hasUpdateAttacks { try startHub(run: run, topology: topology, wiring: wiring, context: context, failures: failures) }
    let coordinator = try Coordinator(
      run: run, topology: topology, wiring: wiring, context: context, resume: resume, allowUnsigned: allowUnsigned)
    coordinator.onRound = onRound
    coordinator.abortReason = { failures.first.map { "\($0); the run stopped" } }
    let workers = DispatchGroup()
    coordinator.onListening = {
      for w in 0..<topology.processCount {
        startRole(failures: failures, group: workers, name: "worker \(w)") {
          if topology.clients != nil {
            try ClientPool(id: w, run: run, topology: topology, wiring: wiring, context: context).run()
          } else {
            try Worker(id: w, run: run, topology: topology, wiring: wiring, context: context).run()
          }
        }
      }
    }
    let measured = try coordinator.run()
    // Workers leave on the shutdown frame; give them a moment before the context ends.
    _ = workers.wait(timeout: .now() + 5)
    return try RunEvaluation.complete(run, measured: measured, mode: "threads")
  }

  /// Starts the adversary hub on its own thread and returns once it listens (or failed).
  static func startHub(run: RunDirectory, topology: Topology, wiring: Wiring, context: Context, failures: RoleFailures) throws {
    let listening = DispatchSemaphore(value: 0)
    startRole(failures: failures, group: nil, name: "the adversary hub", onFailure: { listening.signal() }) {
      try AdversaryHub(run: run, topology: topology, wiring: wiring, context: context).serve(onListening: { listening.signal() })
    }
    listening.wait()
    if let failure = failures.first { throw RuntimeError(failure) }
  }

  /// Runs `body` on a thread of its own (8 MB of stack, as a process's main thread has),
  /// recording an error under `name`.
  static func startRole(
    failures: RoleFailures, group: DispatchGroup?, name: String, onFailure: @escaping @Sendable () -> Void = {},
    _ body: @escaping @Sendable () throws -> Void
  ) {
    group?.enter()
    let t = Thread {
      do { try body() } catch {
        failures.add("\(name): \(error)")
        onFailure()
      }
      group?.leave()
    }
    t.stackSize = 8 << 20
    t.start()
  }

  /// Errors of the role threads, in the order they happened.
  final class RoleFailures: Sendable {
    private let errors = Mutex<[String]>([])
    func add(_ e: String) { errors.withLock { $0.append(e) } }
    var first: String? { errors.withLock { $0.first } }
  }

  /// Refuses to start a second writer in a run directory whose writer is alive.
  static func checkNotInUse(_ run: RunDirectory) throws {
    if let pid = DirectoryLock.holder(of: run.path) {
      throw RuntimeError(
        "\(run.path): this run directory is in use by process \(pid) (its coordinator); wait for it to end, or stop it (kill \(pid)) first")
    }
  }

  // MARK: Processes

  /// Spawns `byzsim coordinator` and one `byzsim worker` per worker (this same binary), follows
  /// metrics.jsonl for progress, and returns the run's summary.
  /// - binary: the `byzsim` executable to spawn (default: this process's own).
  /// - monitor: called about every 50 ms with the child pids (role → pid), e.g. to sample memory.
  public static func runProcesses(
    _ run: RunDirectory, resume: Bool, allowUnsigned: Bool = false, binary: String = executablePath,
    monitor: (([String: Int32]) -> Void)? = nil,
    onRound: @escaping (RoundMetrics) -> Void
  ) throws -> RunSummary {
    let topology = try run.loadTopology()
    try checkNotInUse(run)
    try Integrity.checkShards(run)
    // A mantissa channel's receiver: a wiretap between the workers and the coordinator.
    var eavesdropper: Eavesdropper?
    if topology.hasEavesdropper {
      let e = try Eavesdropper(run: run, topology: topology, resume: resume)
      try e.start(upstream: try Wiring.load(run: run, topology: topology, role: .launcher, threads: false).endpoint)
      eavesdropper = e
    }
    // Also when a spawn fails or the coordinator dies; the first error is the one reported.
    defer { do { try eavesdropper?.finish() } catch { run.logEvent("the wiretap did not finish cleanly: \(error)") } }
    // The roles started here measure the same files: measured once here (already, when prepare
    // ran in this process), their digests handed down (MeasuredFiles).
    if topology.security.attestationMode != .off { _ = try Measurement.current() }
    let launch = ProcessLaunch(run: run, binary: binary)
    defer { launch.stopAll() }  // whatever happens, nothing this launch started outlives it
    let roles = try launch.spawnRoles(topology, resume: resume, allowUnsigned: allowUnsigned)
    try launch.follow(roles, monitor: monitor, onRound: onRound)
    try eavesdropper?.finish()
    eavesdropper = nil
    let measured = try JSONDecoder.snake.decode(RunSummary.self, from: Data(try Files.read(run.coordinatorSummaryFile)))
    return try RunEvaluation.complete(run, measured: measured, mode: "processes")
  }
}

/// The processes of one launch: spawned from this binary, registered for interrupts, their logs
/// in logs/, and stopped when the launch ends.
final class ProcessLaunch {
  let run: RunDirectory
  let binary: String
  let environment: [String: String]
  private(set) var started: [Process] = []

  struct Roles {
    let coordinator: Process
    let workers: [Process]
    let hub: Process?
  }

  init(run: RunDirectory, binary: String) {
    self.run = run
    self.binary = binary
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = "1"
    env[MeasuredFiles.handedDownVariable] = MeasuredFiles.handDown()
    environment = env
  }

  func log(_ name: String) -> String { (run.logsDirectory as NSString).appendingPathComponent("\(name).log") }

  func spawn(_ args: [String], log: String, preload: String? = nil) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    var env = environment
    if let preload { env["LD_PRELOAD"] = preload }
    p.environment = env
    guard FileManager.default.createFile(atPath: log, contents: nil), let h = FileHandle(forWritingAtPath: log) else {
      throw FileFormatError(path: log, message: "cannot create the log file (\(Files.errnoText()))")
    }
    p.standardOutput = h
    p.standardError = h
    Interrupts.register(p)
    try p.run()
    started.append(p)
    return p
  }

  /// The hub (runs with update attacks), the coordinator, then the workers; their pids in
  /// processes.json.
  func spawnRoles(_ topology: Topology, resume: Bool, allowUnsigned: Bool) throws -> Roles {
    let hub = topology.hasUpdateAttacks ? try spawn(["hub", "--run-dir", run.path], log: log("hub")) : nil
    let coordinator = try spawn(
      ["coordinator", "--run-dir", run.path, "--launched"] + (resume ? ["--resume"] : []) + (allowUnsigned ? ["--allow-unsigned"] : []),
      log: log("coordinator"))
    let workers = try (0..<topology.processCount).map { w in
      // A supply_chain group runs with its compromised library preloaded (the simulated attack).
      let (_, g, _) = topology.group(of: w)
      let preload = topology.workers[g].supplyChain.map { _ in
        (run.supplyChainDirectory as NSString).appendingPathComponent("trojan-blas-group-\(g).so")
      }
      return try spawn(["worker", "--run-dir", run.path, "--id", String(w)], log: log("worker-\(w)"), preload: preload)
    }
    var pids = ["coordinator": Int(coordinator.processIdentifier)]
    if let hub { pids["hub"] = Int(hub.processIdentifier) }
    for (w, p) in workers.enumerated() { pids["worker-\(w)"] = Int(p.processIdentifier) }
    try run.writeJSON(pids, to: (run.path as NSString).appendingPathComponent("processes.json"))
    return Roles(coordinator: coordinator, workers: workers, hub: hub)
  }

  /// Follows the run until the coordinator exits: progress from metrics.jsonl; a worker or the
  /// hub that exits with an error (it could not load its shard or key, say) ends the run with
  /// that error, one killed by a signal is a fault the run survives; a coordinator that fails
  /// is an error that says how to resume.
  func follow(_ roles: Roles, monitor: (([String: Int32]) -> Void)?, onRound: (RoundMetrics) -> Void) throws {
    var tail = MetricsTail(path: run.metricsFile, skipExisting: true)
    let pids = ["coordinator": roles.coordinator.processIdentifier]
      .merging(roles.workers.enumerated().map { ("worker-\($0.offset)", $0.element.processIdentifier) }) { a, _ in a }
      .merging(roles.hub.map { [("hub", $0.processIdentifier)] } ?? []) { a, _ in a }
    let others =
      roles.workers.enumerated().map { ("worker \($0.offset)", "worker-\($0.offset)", $0.element) }
      + (roles.hub.map { [("the adversary hub", "hub", $0)] } ?? [])
    while roles.coordinator.isRunning {
      for m in tail.poll() { onRound(m) }
      monitor?(pids)
      for (name, file, p) in others where !p.isRunning && p.terminationReason == .exit && p.terminationStatus != 0 {
        Interrupts.stop(roles.coordinator)
        throw RuntimeError(
          "\(name) exited with status \(p.terminationStatus): \(lastLine(of: log(file)) ?? "(no output)"); the run stopped. See \(log(file))"
        )
      }
      usleep(50_000)
    }
    for m in tail.poll() { onRound(m) }
    roles.coordinator.waitUntilExit()
    let until = Date().addingTimeInterval(5)
    while roles.workers.contains(where: \.isRunning) && Date() < until { usleep(20_000) }
    for p in roles.workers { Interrupts.stop(p) }
    let c = roles.coordinator
    guard c.terminationReason == .exit, c.terminationStatus == 0 else {
      let how =
        c.terminationReason == .uncaughtSignal ? "was killed by signal \(c.terminationStatus)" : "exited with status \(c.terminationStatus)"
      // A full disk can leave the coordinator no room to log why it stopped: say what we see.
      let last = lastLine(of: log("coordinator")).map { ": \($0)" } ?? Files.fullDiskNote(run.path)
      throw RuntimeError(
        "the coordinator \(how)\(last). See \(log("coordinator")); once the cause is fixed, resume from the last checkpoint with: byzsim run --resume \(run.path)"
      )
    }
  }

  /// Stops every process still running (SIGTERM, then SIGKILL).
  func stopAll() {
    for p in started { Interrupts.stop(p); Interrupts.unregister(p) }
  }
}

/// The last non-empty line of a log file (what a failed process said last).
func lastLine(of path: String) -> String? {
  guard let d = FileManager.default.contents(atPath: path) else { return nil }
  return String(decoding: d.suffix(4096), as: UTF8.self).split(separator: "\n").last.map { String($0).trimmingCharacters(in: .whitespaces) }
}

extension JSONEncoder {
  /// snake_case keys, sorted, slashes unescaped: what run directories and `--json` output use.
  public static func snake(pretty: Bool = false) -> JSONEncoder {
    let e = JSONEncoder()
    e.keyEncodingStrategy = .convertToSnakeCase
    e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return e
  }
}

extension JSONDecoder {
  public static var snake: JSONDecoder {
    let d = JSONDecoder()
    d.keyDecodingStrategy = .convertFromSnakeCase
    return d
  }
}

/// Follows metrics.jsonl as the coordinator appends to it.
struct MetricsTail {
  let path: String
  var offset: UInt64 = 0
  var partial = Data()

  init(path: String, skipExisting: Bool) {
    self.path = path
    if skipExisting, let attrs = try? FileManager.default.attributesOfItem(atPath: path) {
      offset = (attrs[.size] as? UInt64) ?? 0
    }
  }

  mutating func poll() -> [RoundMetrics] {
    guard let h = FileHandle(forReadingAtPath: path) else { return [] }
    defer { try? h.close() }
    h.seek(toFileOffset: offset)
    let d = h.readDataToEndOfFile()
    offset += UInt64(d.count)
    partial.append(d)
    var out: [RoundMetrics] = []
    while let nl = partial.firstIndex(of: 0x0A) {
      let line = partial[partial.startIndex..<nl]
      partial = Data(partial[(nl + 1)...])
      if let m = try? JSONDecoder.snake.decode(RoundMetrics.self, from: line) { out.append(m) }
    }
    return out
  }
}
