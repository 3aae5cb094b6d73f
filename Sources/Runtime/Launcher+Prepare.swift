import Artifacts
import Attacks
import Covert
import Data
import Foundation
import Ingestion
import Learning
import Tensor
import Transport

/// `prepare`: a run directory from a topology — the resolved topology, the partitioned shards,
/// the CURVE keys, the provenance manifest and the ground truth — and per-host bundles of it.
extension Launcher {
  /// Creates the run directory: resolved topology, partitioned shards (one file per worker),
  /// CURVE keys, provenance manifest.
  public static func prepare(_ topology: Topology, runsRoot: String, initFrom: ModelReference? = nil) throws -> RunDirectory {
    let run = try RunDirectory.create(name: topology.name, under: runsRoot)
    do {
      return try prepare(topology, in: run, initFrom: initFrom)
    } catch {
      // Nothing ran yet: a half-prepared directory would only be mistaken for a run.
      do { try FileManager.default.removeItem(atPath: run.path) } catch let cleanup {
        FileHandle.standardError.write(Data("byzsim: could not remove the half-prepared \(run.path): \(cleanup)\n".utf8))
      }
      throw error
    }
  }

  /// Prepares a run in an existing, empty run directory.
  public static func prepare(_ topology: Topology, in run: RunDirectory, initFrom: ModelReference? = nil) throws -> RunDirectory {
    try run.writeJSON(topology, to: run.topologyFile)
    let loaded = try topology.data.load()
    var train = loaded.train
    let test = loaded.test
    try checkShapes(topology, train: train, test: test)
    let initDigest = try initFrom?.adopt(into: run, spec: topology.model, input: train.dataset.shape, classes: train.dataset.classes)
    var sanitizing = SanitizeReport(topology.data.sanitize)
    let rootDigest = try writeRootShard(&train.dataset, topology: topology, run: run, sanitizing: &sanitizing)
    let shards = try writeShards(train.dataset, topology: topology, run: run, sanitizing: &sanitizing)
    if topology.data.sanitize != nil { try run.writeJSON(sanitizing, to: run.sanitizeFile) }
    if !topology.covertWorkers().isEmpty {
      try FileManager.default.createDirectory(atPath: run.covertDirectory, withIntermediateDirectories: true)
    }
    if topology.security.curve { try writeKeys(topology, run: run) }
    let supplyChain = try buildSupplyChain(topology, run: run)
    let sbom = try SBOM.json()
    try Files.writeAtomically(sbom, to: run.file("sbom.cdx.json"))
    let attestation = try expectedMeasurement(topology)
    let signer = try RunSigner.create(run)
    let nonce = UInt64.random(in: 1...UInt64.max)  // the system RNG: never derived from the seed
    let manifest = RunManifest(
      seed: topology.seed, topologyName: topology.name, runNonce: String(format: "%016llx", nonce),
      modelParameters: topology.model.parameterCount(input: train.dataset.shape, classes: train.dataset.classes),
      input: train.dataset.shape, classes: train.dataset.classes,
      dataFiles: train.files + test.files.filter { !train.files.contains($0) }, shards: shards.digests, shardSamples: shards.samples,
      poisonedShards: shards.poisoned,
      rootShard: rootDigest, initModel: initDigest, gitCommit: gitCommit(), binarySHA256: try MeasuredFiles.digest(executablePath),
      attestation: attestation, supplyChain: supplyChain.isEmpty ? nil : supplyChain, sbomSHA256: Provenance.sha256Hex(sbom),
      createdAt: ISO8601DateFormatter().string(from: Date()))
    try signer.write(Array(try JSONEncoder.snake(pretty: true).encode(manifest)) + [0x0A], to: run.manifestFile)
    // Ground truth, for evaluation only: the coordinator and its auditors never read it.
    try run.writeJSON(
      Truth(
        malicious: topology.maliciousIDs,
        behaviors: (0..<topology.workerCount).map { topology.behavior(of: $0) }), to: run.truthFile)
    return run
  }

  /// Builds each `supply_chain` group's compromised library into supply-chain/; their SHA-256 by group.
  static func buildSupplyChain(_ topology: Topology, run: RunDirectory) throws -> [String: String] {
    var digests: [String: String] = [:]
    for (g, group) in topology.workers.enumerated() {
      guard let spec = group.supplyChain else { continue }
      digests[String(g)] = try TrojanBLAS.build(spec, group: g, directory: run.supplyChainDirectory).sha256
    }
    return digests
  }

  /// What workers must measure as: the allowlist file, or this process (the same binary and
  /// libraries the launcher starts them with); nil when attestation is off.
  static func expectedMeasurement(_ topology: Topology) throws -> Measurement? {
    guard topology.security.attestationMode != .off else { return nil }
    guard let file = topology.security.attestationAllowlist else { return try Measurement.current() }
    do {
      return try JSONDecoder.snake.decode(Measurement.self, from: Data(try Files.read(file)))
    } catch let e as FileFormatError {
      throw e
    } catch {
      throw FileFormatError(path: file, message: "not an attestation allowlist (a measurement as written by byzsim attest): \(error)")
    }
  }

  /// FLTrust's root dataset: a seeded random sample, removed from what the workers share.
  /// Returns its file's SHA-256 (nil without a root dataset).
  static func writeRootShard(
    _ train: inout Dataset, topology: Topology, run: RunDirectory, sanitizing: inout SanitizeReport
  ) throws -> String? {
    let (root, rest) = rootSplit(train, topology: topology)
    guard let root else { return nil }
    let bytes = ShardFile.encode(try sanitizing.apply(root, original: root, shard: "root", worker: nil, topology: topology))
    try Files.writeAtomically(bytes, to: run.rootShardFile)
    train = rest
    return Provenance.sha256Hex(bytes)
  }

  /// FLTrust's root dataset (a seeded random sample of `root_dataset_size`; nil without one) and
  /// the training samples left for the participants.
  static func rootSplit(_ train: Dataset, topology: Topology) -> (root: Dataset?, rest: Dataset) {
    let r = topology.coordinator.rootDatasetSize
    guard r > 0 else { return (nil, train) }
    var rng = RandomStream(seed: topology.seed, purpose: .partition, 0x2007)
    let order = rng.permutation(train.count)
    return (train.subset(Array(order[0..<r]).sorted()), train.subset(Array(order[r...]).sorted()))
  }

  /// What the manifest records of the shards.
  struct ShardRecords {
    var digests: [String] = []
    var samples: [Int] = []
    var poisoned: [String: String] = [:]
  }

  /// Partitions the training set and writes one shard per worker (and a data attacker's or a
  /// capacity-abuse worker's attack-round shard beside it).
  static func writeShards(_ train: Dataset, topology: Topology, run: RunDirectory, sanitizing: inout SanitizeReport) throws -> ShardRecords
  {
    let assignment = try ClientShards.assign(topology, labels: train.labels, classes: train.classes)
    var records = ShardRecords()
    if topology.clients != nil {
      // Logical clients: no file per client; each pool process draws the same shards from the
      // data files (checked against their digests) and checks their sizes against these.
      records.samples = assignment.map(\.count)
      if let w = records.samples.firstIndex(of: 0) {
        throw RuntimeError("the \(topology.data.partition) partition left client \(w) without a sample; raise alpha or use fewer clients")
      }
      return records
    }
    for (w, indices) in assignment.enumerated() {
      guard !indices.isEmpty else {
        throw RuntimeError("the \(topology.data.partition) partition left worker \(w) without a sample; raise alpha or use fewer workers")
      }
      let ingested = train.subset(indices)
      if let poisoned = try attackShard(ingested, worker: w, topology: topology) {
        // Poisoned data reaches the worker's ingestion pipeline (a capacity-abuse worker's own
        // synthetic inputs do not pass through one).
        let shard =
          topology.group(of: w).group.dataAttack == nil
          ? poisoned : try sanitizing.apply(poisoned, original: ingested, shard: "attack", worker: w, topology: topology)
        let bytes = ShardFile.encode(shard)
        try Files.writeAtomically(bytes, to: run.poisonedShardFile(w))
        records.poisoned[String(w)] = Provenance.sha256Hex(bytes)
      }
      let shard = try sanitizing.apply(ingested, original: ingested, shard: "clean", worker: w, topology: topology)
      let bytes = ShardFile.encode(shard)
      try Files.writeAtomically(bytes, to: run.shardFile(w))
      records.digests.append(Provenance.sha256Hex(bytes))
      records.samples.append(shard.count)
    }
    return records
  }

  /// The shard worker `w` trains on in its attack rounds, if its group has one: data attacks
  /// poison a copy at ingestion; capacity abuse adds synthetic inputs whose labels carry secret bits.
  static func attackShard(_ shard: Dataset, worker w: Int, topology: Topology) throws -> Dataset? {
    let (group, _, member) = topology.group(of: w)
    if let spec = group.dataAttack {
      let attack = try AttackRegistry.data(spec.name, spec.params, classes: shard.classes)
      var rng = RandomStream(seed: topology.seed, purpose: .attack, UInt64(w))
      return attack.poison(shard, attacker: member, attackers: group.count, rng: &rng)
    }
    if let spec = group.covert, group.covertChannel == .capacityAbuse {
      let c = try CovertSetup.capacityAbuse(spec, topology: topology, worker: w, shape: shard.shape, classes: shard.classes)
      return CovertSetup.capacityAbuseShard(shard, c, mix: CovertRegistry.parameter("mix", of: spec.name, in: spec.params))
    }
    return nil
  }

  /// A CURVE key pair per role: secrets 0600 in the 0700 keys directory, every public key in
  /// keys/public.json.
  static func writeKeys(_ topology: Topology, run: RunDirectory) throws {
    let coordinator = try CurveKeyPair.generate()
    try writeSecret(coordinator.secretKey, to: run.secretKeyFile("coordinator"))
    var publics: [String: String] = [:]
    for w in 0..<topology.processCount {
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

  /// Loads the topology's data and checks it against the model (what `validate` does when the
  /// data directory exists; `prepare` does the same on the data it partitions).
  public static func checkData(_ topology: Topology) throws {
    let (train, test) = try topology.data.load()
    try checkShapes(topology, train: train, test: test)
  }

  /// The data must fit the model: the same image shape and classes in both splits, a shape the
  /// model can be built for, enough samples for the root dataset and every worker, and on a
  /// table nothing that needs images.
  static func checkShapes(_ topology: Topology, train: LoadedSplit, test: LoadedSplit) throws {
    let tr = train.dataset, te = test.dataset
    let dir = topology.data.source.location
    if tr.domain == .tabular, let (key, why) = try topology.imageOnlyFeature() {
      throw RuntimeError(
        "\(dir): \(key) needs images, and dataset = \"\(topology.data.dataset)\" is a table of \(tr.shape.width) features: \(why)")
    }
    guard tr.shape == te.shape else {
      throw RuntimeError("\(dir): the test images are \(te.shape) but the training images are \(tr.shape); both splits must have one shape")
    }
    guard tr.classes == te.classes else {
      throw RuntimeError("\(dir): the test set has \(te.classes) classes, the training set \(tr.classes)")
    }
    if let problem = topology.model.problem(input: tr.shape, classes: tr.classes) {
      throw RuntimeError("\(dir): model.kind = \(topology.model) cannot take this data: \(problem)")
    }
    let needed = topology.coordinator.rootDatasetSize + (topology.clients == nil ? topology.workerCount : 1)
    guard tr.count >= needed else {
      throw RuntimeError("\(dir): \(tr.count) training samples are fewer than root_dataset_size + one per worker (\(needed))")
    }
    let available = tr.count - topology.coordinator.rootDatasetSize
    if let problem = topology.partitionProblem(classes: tr.classes, count: available) {
      throw RuntimeError("\(dir): data.partition: \(problem)")
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
    for file in [run.publicKeysFile, run.signingPublicFile, Signing.signaturePath(run.manifestFile)]
    where FileManager.default.fileExists(atPath: file) {
      let relative = String(file.dropFirst(run.path.count + 1))
      try Files.writeAtomically(try Files.read(file), to: out.file(relative))
    }
    for role in roles {
      switch role {
      case let .worker(id):
        guard id < topology.processCount else {
          throw RuntimeError("worker-\(id): this run has workers 0..<\(topology.processCount)")
        }
        // A pool process of logical clients reads the data files themselves (their digests are in the manifest).
        if topology.clients == nil { try Files.writeAtomically(try Files.read(run.shardFile(id)), to: out.shardFile(id)) }
        if manifest.poisonedShards[String(id)] != nil {
          try Files.writeAtomically(try Files.read(run.poisonedShardFile(id)), to: out.poisonedShardFile(id))
        }
        if !topology.covertWorkers().isEmpty {
          try FileManager.default.createDirectory(atPath: out.covertDirectory, withIntermediateDirectories: true)
        }
      case .coordinator:
        try Files.writeAtomically(try Files.read(run.signingKeyFile), to: out.signingKeyFile, mode: 0o600)
      case .hub: break
      case .launcher: throw RuntimeError("a bundle holds coordinator, hub or worker-I roles")
      }
      if topology.security.curve {
        try writeSecret(
          String(decoding: try Files.read(run.secretKeyFile(role.description)), as: UTF8.self)
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
}

/// sanitize.json: what `[data] sanitize` removed from each shard at prepare time, and how that
/// compares with what the shard's data attack changed. Written once by `prepare`; like
/// truth.json it is for evaluation only — no role reads it.
struct SanitizeReport: Codable {
  struct Entry: Codable {
    /// Null for FLTrust's root dataset.
    @Nullable var worker: Int?
    /// "clean" (the shard as partitioned), "attack" (a data attacker's poisoned copy), "root".
    var shard: String
    var samples: Int
    var removed: Int
    /// Samples the attack changed (0 for clean shards: every removal is a false positive).
    var poisoned: Int
    var poisonedRemoved: Int
    var precision: Double
    var recall: Double
    var f1: Double
  }

  var settings: SanitizeSettings?
  var shards: [Entry] = []

  init(_ settings: SanitizeSettings?) { self.settings = settings }

  /// `data` without the samples the detectors flag (unchanged without `[data] sanitize`),
  /// recorded against the samples that differ from `original`.
  mutating func apply(_ data: Dataset, original: Dataset, shard: String, worker: Int?, topology: Topology) throws -> Dataset {
    guard let settings else { return data }
    let kind = ModelKind(rawValue: settings.model) ?? .mlp
    let defaults = TrainingDefaults.for(kind)
    let seed = topology.seed &+ UInt64(worker.map { $0 + 1 } ?? 0)
    let sanitizer = Sanitizer(
      names: settings.detectors, epsilon: settings.epsilon, model: ModelSpec(kind: kind),
      configuration: TrainingConfiguration(
        epochs: settings.epochs, batchSize: defaults.batchSize, schedule: LearningRateSchedule(base: defaults.learningRate),
        momentum: defaults.momentum, seed: seed),
      folds: settings.folds)
    let (kept, removed) = sanitizer.kept(data)
    guard !kept.isEmpty else {
      throw RuntimeError("[data] sanitize removed every sample of \(worker.map { "worker \($0)'s \(shard) shard" } ?? "the root dataset")")
    }
    let truth = PoisonTruth.indices(clean: original, poisoned: data)
    let score = DetectionScore(flagged: removed, truth: truth)
    shards.append(
      Entry(
        worker: worker, shard: shard, samples: data.count, removed: removed.count, poisoned: truth.count,
        poisonedRemoved: score.truePositives, precision: score.precision, recall: score.recall, f1: score.f1))
    let who = worker.map { "worker \($0)'s \(shard) shard" } ?? "the root dataset"
    FileHandle.standardError.write(
      Data(
        "sanitize: \(who): removed \(removed.count) of \(data.count)\(truth.isEmpty ? "" : " (\(score.truePositives) of its \(truth.count) poisoned)")\n"
          .utf8))
    return data.subset(kept)
  }
}
