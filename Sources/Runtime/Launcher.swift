import Attacks
import Data
import Foundation
import Learning
import Tensor
import Transport

/// Prepares run directories and runs a topology as processes or threads.
public enum Launcher {
  /// Creates the run directory: resolved topology, partitioned shards (one file per worker),
  /// CURVE keys, provenance manifest.
  public static func prepare(_ topology: Topology, runsRoot: String) throws -> RunDirectory {
    try prepare(topology, in: try RunDirectory.create(name: topology.name, under: runsRoot))
  }

  /// Prepares a run in an existing, empty run directory.
  public static func prepare(_ topology: Topology, in run: RunDirectory) throws -> RunDirectory {
    try run.writeJSON(topology, to: run.topologyFile)
    var train = try FashionMNIST.load(.train, directory: topology.data.directory)
    let test = try FashionMNIST.load(.test, directory: topology.data.directory)
    if let n = topology.data.trainLimit { train.dataset = train.dataset.prefix(n) }
    try checkShapes(topology, train: train, test: test)
    var rootDigest: String?
    if topology.coordinator.rootDatasetSize > 0 {
      // FLTrust's root dataset: a seeded random sample, removed from what the workers share.
      var rng = RandomStream(seed: topology.seed, purpose: .partition, 0x2007)
      let order = rng.permutation(train.dataset.count)
      let r = topology.coordinator.rootDatasetSize
      let bytes = ShardFile.encode(train.dataset.subset(Array(order[0..<r]).sorted()))
      try Files.writeAtomically(bytes, to: run.rootShardFile)
      rootDigest = Provenance.sha256Hex(bytes)
      train.dataset = train.dataset.subset(Array(order[r...]).sorted())
    }
    let assignment = try topology.data.partition.assign(
      labels: train.dataset.labels, classes: train.dataset.classes, workers: topology.workerCount, seed: topology.seed)
    var shardDigests: [String] = [], shardSamples: [Int] = [], poisonedDigests: [String: String] = [:]
    for (w, indices) in assignment.enumerated() {
      guard !indices.isEmpty else {
        throw RuntimeError("the \(topology.data.partition) partition left worker \(w) without a sample; raise alpha or use fewer workers")
      }
      let shard = train.dataset.subset(indices)
      let (group, _, member) = topology.group(of: w)
      if let spec = group.dataAttack {
        // Data attacks poison a copy of the malicious worker's shard at ingestion; it trains
        // honestly on it in its attack rounds (on the clean shard otherwise).
        let attack = try AttackRegistry.data(spec.name, spec.params, classes: shard.classes)
        var rng = RandomStream(seed: topology.seed, purpose: .attack, UInt64(w))
        let poisoned = ShardFile.encode(attack.poison(shard, attacker: member, attackers: group.count, rng: &rng))
        try Files.writeAtomically(poisoned, to: run.poisonedShardFile(w))
        poisonedDigests[String(w)] = Provenance.sha256Hex(poisoned)
      } else if let spec = group.covert, spec.name == "capacity_abuse" {
        // Capacity abuse trains on its shard plus synthetic inputs whose labels carry secret bits.
        let c = try CovertSetup.capacityAbuse(spec, topology: topology, worker: w, shape: shard.shape, classes: shard.classes)
        let poisoned = ShardFile.encode(CovertSetup.capacityAbuseShard(shard, c, mix: spec.params["mix"] ?? 0.5))
        try Files.writeAtomically(poisoned, to: run.poisonedShardFile(w))
        poisonedDigests[String(w)] = Provenance.sha256Hex(poisoned)
      }
      let bytes = ShardFile.encode(shard)
      try Files.writeAtomically(bytes, to: run.shardFile(w))
      shardDigests.append(Provenance.sha256Hex(bytes))
      shardSamples.append(shard.count)
    }
    if !topology.covertWorkers().isEmpty {
      try FileManager.default.createDirectory(atPath: run.covertDirectory, withIntermediateDirectories: true)
    }
    if topology.security.curve {
      let coordinator = try CurveKeyPair.generate()
      try writeSecret(coordinator.secretKey, to: run.secretKeyFile("coordinator"))
      var publics: [String: String] = [:]
      for w in 0..<topology.workerCount {
        let k = try CurveKeyPair.generate()
        try writeSecret(k.secretKey, to: run.secretKeyFile("worker-\(w)"))
        publics[String(w)] = k.publicKey
      }
      var hubPublic: String?
      if topology.hasUpdateAttacks {
        let hub = try CurveKeyPair.generate()
        try writeSecret(hub.secretKey, to: run.secretKeyFile("hub"))
        hubPublic = hub.publicKey
      }
      try run.writeJSON(PublicKeys(coordinator: coordinator.publicKey, workers: publics, hub: hubPublic), to: run.publicKeysFile)
    }
    let nonce = UInt64.random(in: 1...UInt64.max)  // the system RNG: never derived from the seed
    let manifest = RunManifest(
      seed: topology.seed, topologyName: topology.name, runNonce: String(format: "%016llx", nonce),
      modelParameters: topology.model.parameterCount(input: train.dataset.shape, classes: train.dataset.classes),
      dataFiles: train.files + test.files, shards: shardDigests, shardSamples: shardSamples, poisonedShards: poisonedDigests,
      rootShard: rootDigest, gitCommit: gitCommit(), binarySHA256: binaryDigest(), createdAt: ISO8601DateFormatter().string(from: Date()))
    try run.writeJSON(manifest, to: run.manifestFile)
    // Ground truth, for evaluation only: the coordinator and its auditors never read it.
    try run.writeJSON(Truth(malicious: topology.maliciousIDs,
                            behaviors: (0..<topology.workerCount).map { topology.behavior(of: $0) }), to: run.truthFile)
    return run
  }

  /// Loads the topology's data and checks it against the model (what `validate` does when the
  /// data directory exists; `prepare` does the same on the data it partitions).
  public static func checkData(_ topology: Topology) throws {
    var train = try FashionMNIST.load(.train, directory: topology.data.directory)
    if let n = topology.data.trainLimit { train.dataset = train.dataset.prefix(n) }
    try checkShapes(topology, train: train, test: try FashionMNIST.load(.test, directory: topology.data.directory))
  }

  /// The data must fit the model: the same image shape and classes in both splits, a shape the
  /// model can be built for, and enough samples for the root dataset and every worker.
  static func checkShapes(_ topology: Topology, train: FashionMNIST.Loaded, test: FashionMNIST.Loaded) throws {
    let tr = train.dataset, te = test.dataset
    let dir = topology.data.directory
    guard tr.shape == te.shape else {
      throw RuntimeError("\(dir): the test images are \(te.shape) but the training images are \(tr.shape); both splits must have one shape")
    }
    guard tr.classes == te.classes else {
      throw RuntimeError("\(dir): the test set has \(te.classes) classes, the training set \(tr.classes)")
    }
    if let problem = topology.model.problem(input: tr.shape, classes: tr.classes) {
      throw RuntimeError("\(dir): model.kind = \(topology.model) cannot take this data: \(problem)")
    }
    let needed = topology.coordinator.rootDatasetSize + topology.workerCount
    guard tr.count >= needed else {
      throw RuntimeError("\(dir): \(tr.count) training samples are fewer than root_dataset_size + one per worker (\(needed))")
    }
  }

  /// Writes a bundle for one host: a run directory with the topology, the manifest, the public
  /// keys, and for the given roles only their shards and their own secrets — nothing that lets
  /// that host pose as another role. `byzsim worker --run-dir BUNDLE` runs from it.
  public static func bundle(_ run: RunDirectory, roles: [Role], to path: String) throws -> RunDirectory {
    let topology = try run.loadTopology()
    let manifest = try run.loadManifest()
    let out = try RunDirectory.create(at: path)
    for file in [run.topologyFile, run.manifestFile] {
      try Files.writeAtomically(try Files.read(file), to: out.file((file as NSString).lastPathComponent))
    }
    if FileManager.default.fileExists(atPath: run.publicKeysFile) {
      try Files.writeAtomically(try Files.read(run.publicKeysFile), to: out.publicKeysFile)
    }
    for role in roles {
      switch role {
      case let .worker(id):
        guard id < topology.workerCount else { throw RuntimeError("worker-\(id): this run has workers 0..<\(topology.workerCount)") }
        try Files.writeAtomically(try Files.read(run.shardFile(id)), to: out.shardFile(id))
        if manifest.poisonedShards[String(id)] != nil {
          try Files.writeAtomically(try Files.read(run.poisonedShardFile(id)), to: out.poisonedShardFile(id))
        }
        if !topology.covertWorkers().isEmpty {
          try FileManager.default.createDirectory(atPath: out.covertDirectory, withIntermediateDirectories: true)
        }
      case .coordinator, .hub: break
      case .launcher: throw RuntimeError("a bundle holds coordinator, hub or worker-I roles")
      }
      if topology.security.curve {
        try writeSecret(String(decoding: try Files.read(run.secretKeyFile(role.description)), as: UTF8.self)
          .trimmingCharacters(in: .whitespacesAndNewlines), to: out.secretKeyFile(role.description))
      }
    }
    return out
  }

  /// A secret key file: mode 0600 from its creation, in the 0700 keys directory.
  static func writeSecret(_ key: String, to path: String) throws {
    try Files.writeAtomically(Array(key.utf8) + [0x0A], to: path, mode: 0o600)
  }

  static func gitCommit() -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "HEAD"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
  }

  static func binaryDigest() -> String? {
    guard let d = FileManager.default.contents(atPath: executablePath) else { return nil }
    return Provenance.sha256Hex([UInt8](d))
  }

  /// This process's executable (the `byzsim` binary that spawns its own roles).
  public static var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  // MARK: Threads

  /// Runs the coordinator and every worker as threads of this process over inproc://.
  public static func runThreads(_ run: RunDirectory, resume: Bool, onRound: @escaping (RoundMetrics) -> Void) throws -> RunSummary {
    let topology = try run.loadTopology()
    if topology.hasEavesdropper {
      throw RuntimeError("the mantissa channel's receiver is an eavesdropper on the wire, and threads talk over inproc:// (no wire): run it as processes (without --threads)")
    }
    try checkNotInUse(run)
    try Integrity.checkShards(run)
    let wiring = try Wiring.load(run: run, topology: topology, role: .launcher, threads: true)
    let context = try Context()
    BLAS.threads = 1
    // A worker or hub thread that fails ends the run with its error (the coordinator polls).
    let workerErrors = WorkerErrors()
    if topology.hasUpdateAttacks {
      let hub = try AdversaryHub(run: run, topology: topology, wiring: wiring, context: context)
      nonisolated(unsafe) let h = hub
      let ht = Thread {
        do { try h.serve() } catch { workerErrors.add("the adversary hub: \(error)") }
      }
      ht.start()
      usleep(30_000)
    }
    let coordinator = try Coordinator(run: run, topology: topology, wiring: wiring, context: context, resume: resume)
    coordinator.onRound = onRound
    coordinator.abortReason = { workerErrors.first.map { "\($0); the run stopped" } }
    // The coordinator binds inside run(); start it first so workers find the endpoint.
    var summary: RunSummary?
    var failure: (any Error)?
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) let unsafeCoordinator = coordinator
    nonisolated(unsafe) var unsafeSummary = summary, unsafeFailure = failure
    let ct = Thread {
      do { unsafeSummary = try unsafeCoordinator.run() } catch { unsafeFailure = error }
      done.signal()
    }
    ct.stackSize = 8 << 20
    ct.start()
    usleep(50_000)
    var threads: [Thread] = []
    for w in 0..<topology.workerCount {
      let t = Thread {
        do {
          let worker = try Worker(id: w, run: run, topology: topology, wiring: wiring, context: context)
          try worker.run()
        } catch {
          workerErrors.add("worker \(w): \(error)")
        }
      }
      t.stackSize = 8 << 20
      threads.append(t)
      t.start()
    }
    done.wait()
    summary = unsafeSummary
    failure = unsafeFailure
    // Workers leave on the shutdown frame; give them a moment, then end the context.
    let until = Date().addingTimeInterval(5)
    while threads.contains(where: { !$0.isFinished }) && Date() < until { usleep(10_000) }
    context.shutdown()
    if let failure { throw failure }
    var s = summary!
    s.mode = "threads"
    s.detection = try DetectionReport.evaluate(run)
    s.covert = try CovertReport.evaluate(run)
    try run.writeJSON(s, to: run.summaryFile)
    return s
  }

  final class WorkerErrors: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []
    func add(_ e: String) { lock.lock(); errors.append(e); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return errors.first }
  }

  /// Refuses to start a second writer in a run directory whose writer is alive.
  static func checkNotInUse(_ run: RunDirectory) throws {
    if let pid = DirectoryLock.holder(of: run.path) {
      throw RuntimeError("\(run.path): this run directory is in use by process \(pid) (its coordinator); wait for it to end, or stop it (kill \(pid)) first")
    }
  }

  // MARK: Processes

  /// Spawns `byzsim coordinator` and one `byzsim worker` per worker (this same binary), follows
  /// metrics.jsonl for progress, and returns the coordinator's summary.
  /// - binary: the `byzsim` executable to spawn (default: this process's own).
  /// - monitor: called about every 50 ms with the child pids (role → pid), e.g. to sample memory.
  public static func runProcesses(_ run: RunDirectory, resume: Bool, binary: String = executablePath,
                                  monitor: (([String: Int32]) -> Void)? = nil,
                                  onRound: @escaping (RoundMetrics) -> Void) throws -> RunSummary {
    let topology = try run.loadTopology()
    try checkNotInUse(run)
    try Integrity.checkShards(run)
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = "1"
    var started: [Process] = []
    // Whatever happens below, nothing this launch started outlives it.
    defer { for p in started { Interrupts.stop(p); Interrupts.unregister(p) } }
    func spawn(_ args: [String], log: String) throws -> Process {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: binary)
      p.arguments = args
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
    let logs = run.logsDirectory
    // A mantissa channel's receiver: a wiretap between the workers and the coordinator.
    var eavesdropper: Eavesdropper?
    if topology.hasEavesdropper {
      let e = try Eavesdropper(run: run, topology: topology, resume: resume)
      try e.start(upstream: try Wiring.load(run: run, topology: topology, role: .launcher, threads: false).endpoint)
      eavesdropper = e
    }
    defer { try? eavesdropper?.finish() }  // also when a spawn fails or the coordinator dies
    let hub = topology.hasUpdateAttacks
      ? try spawn(["hub", "--run-dir", run.path], log: (logs as NSString).appendingPathComponent("hub.log")) : nil
    let coordinator = try spawn(["coordinator", "--run-dir", run.path] + (resume ? ["--resume"] : []),
                                log: (logs as NSString).appendingPathComponent("coordinator.log"))
    var workers: [Process] = []
    for w in 0..<topology.workerCount {
      workers.append(try spawn(["worker", "--run-dir", run.path, "--id", String(w)],
                               log: (logs as NSString).appendingPathComponent("worker-\(w).log")))
    }
    var pids = ["coordinator": Int(coordinator.processIdentifier)]
    if let hub { pids["hub"] = Int(hub.processIdentifier) }
    pids = pids
      .merging(Dictionary(uniqueKeysWithValues: workers.enumerated().map { ("worker-\($0.offset)", Int($0.element.processIdentifier)) })) { a, _ in a }
    try run.writeJSON(pids, to: (run.path as NSString).appendingPathComponent("processes.json"))

    var tail = MetricsTail(path: run.metricsFile, skipExisting: true)
    let children = pids.mapValues { Int32($0) }
    while coordinator.isRunning {
      for m in tail.poll() { onRound(m) }
      monitor?(children)
      // A worker or the hub that exits with an error (it could not load its shard or key, say)
      // ends the run with that error; one killed by a signal is a fault the run survives.
      let roles = workers.enumerated().map { ("worker \($0.offset)", "worker-\($0.offset)", $0.element) } + (hub.map { [("the adversary hub", "hub", $0)] } ?? [])
      for (name, file, p) in roles where !p.isRunning && p.terminationReason == .exit && p.terminationStatus != 0 {
        Interrupts.stop(coordinator)
        let log = (logs as NSString).appendingPathComponent("\(file).log")
        throw RuntimeError("\(name) exited with status \(p.terminationStatus): \(lastLine(of: log) ?? "(no output)"); the run stopped. See \(log)")
      }
      usleep(50_000)
    }
    for m in tail.poll() { onRound(m) }
    coordinator.waitUntilExit()
    let until = Date().addingTimeInterval(5)
    while workers.contains(where: \.isRunning) && Date() < until { usleep(20_000) }
    for p in workers { Interrupts.stop(p) }
    try eavesdropper?.finish()
    guard coordinator.terminationReason == .exit, coordinator.terminationStatus == 0 else {
      let how = coordinator.terminationReason == .uncaughtSignal ? "was killed by signal \(coordinator.terminationStatus)" : "exited with status \(coordinator.terminationStatus)"
      let last = lastLine(of: (logs as NSString).appendingPathComponent("coordinator.log")).map { ": \($0)" } ?? ""
      throw RuntimeError("the coordinator \(how)\(last). See \(logs)/coordinator.log; once the cause is fixed, resume from the last checkpoint with: byzsim run --resume \(run.path)")
    }
    var d = try JSONDecoder.snake.decode(RunSummary.self, from: Data(try Files.read(run.summaryFile)))
    d.detection = try DetectionReport.evaluate(run)
    d.covert = try CovertReport.evaluate(run)
    if d.detection != nil || d.covert != nil { try run.writeJSON(d, to: run.summaryFile) }
    return d
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
  static var snake: JSONDecoder {
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
