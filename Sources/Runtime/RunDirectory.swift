import Data
import Tensor
import Foundation
import Transport

/// The files of one run: `runs/<name>-<time>/` with the resolved topology, the manifest,
/// keys, shards, metrics, logs, checkpoint and final model.
public struct RunDirectory: Sendable {
  public let path: String

  public init(path: String) { self.path = path }

  func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
  public var topologyFile: String { file("topology.json") }
  public var manifestFile: String { file("manifest.json") }
  public var metricsFile: String { file("metrics.jsonl") }
  public var checkpointFile: String { file("checkpoint.bin") }
  public var modelFile: String { file("model.bin") }
  /// The final model as safetensors (PyTorch's names and layout, provenance in its metadata).
  public var safetensorsFile: String { file("model.safetensors") }
  public var summaryFile: String { file("summary.json") }
  /// What the coordinator process measured (processes mode), for the launcher's evaluation.
  public var coordinatorSummaryFile: String { file("coordinator.json") }
  public var eventsFile: String { file("events.log") }
  /// Ground truth (which workers are malicious): written by the launcher, read only by evaluation.
  public var truthFile: String { file("truth.json") }
  /// What `[data] sanitize` removed from each shard, scored against the poisoning (evaluation only).
  public var sanitizeFile: String { file("sanitize.json") }
  /// The ipc:// endpoint of the adversary hub.
  public var hubEndpoint: String { "ipc://" + file("hub.sock") }
  public var logsDirectory: String { file("logs") }
  func shardFile(_ worker: Int) -> String { file("shards/worker-\(worker).bin") }
  /// A data-attacking worker's poisoned shard (used in its attack rounds).
  func poisonedShardFile(_ worker: Int) -> String { file("shards/worker-\(worker).poisoned.bin") }
  /// FLTrust's clean root dataset, held by the coordinator.
  var rootShardFile: String { file("shards/root.bin") }
  /// The model a run starts from (`byzsim run --init-from`), copied in by prepare.
  var initModelFile: String { file("init.safetensors") }
  func secretKeyFile(_ role: String) -> String { file("keys/\(role).secret") }
  /// The run's Ed25519 signing key (the coordinator's) and its public key.
  var signingKeyFile: String { file("keys/signing.key") }
  public var signingPublicFile: String { file("keys/signing.pub") }
  public var publicKeysFile: String { file("keys/public.json") }
  /// The ipc:// endpoint of this run's coordinator (a socket file in the directory).
  public var ipcEndpoint: String { "ipc://" + file("coordinator.sock") }

  /// Creates `root/<name>-<UTC time>` (with a numeric suffix if it exists).
  public static func create(name: String, under root: String) throws -> RunDirectory {
    let stamp: String = {
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.timeZone = TimeZone(identifier: "UTC")
      f.dateFormat = "yyyyMMdd-HHmmss"
      return f.string(from: Date())
    }()
    let fm = FileManager.default
    try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
    // mkdir fails if the directory exists, so concurrent runs never share one.
    var candidate = (root as NSString).appendingPathComponent("\(name)-\(stamp)")
    var k = 2
    while mkdir(candidate, 0o755) != 0 {
      guard errno == EEXIST else {
        throw FileFormatError(path: candidate, message: "cannot create the run directory (\(Files.errnoText()))")
      }
      candidate = (root as NSString).appendingPathComponent("\(name)-\(stamp)-\(k)")
      k += 1
    }
    try makeSubdirectories(candidate)
    return RunDirectory(path: (candidate as NSString).standardizingPath)
  }

  /// Creates exactly `path` (it must not exist) with its subfolders.
  public static func create(at path: String) throws -> RunDirectory {
    let fm = FileManager.default
    try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard mkdir(path, 0o755) == 0 else {
      throw FileFormatError(path: path, message: "cannot create the run directory (\(Files.errnoText()))")
    }
    try makeSubdirectories(path)
    return RunDirectory(path: (path as NSString).standardizingPath)
  }

  /// logs/ and shards/, and keys/ readable by its owner only (0700 from its creation), so no
  /// other local user can read a secret even for an instant.
  static func makeSubdirectories(_ path: String) throws {
    for (sub, mode) in [("logs", 0o755), ("keys", 0o700), ("shards", 0o755)] as [(String, mode_t)] {
      let dir = (path as NSString).appendingPathComponent(sub)
      guard mkdir(dir, mode) == 0, chmod(dir, mode) == 0 else {
        throw FileFormatError(path: dir, message: "cannot create the directory (\(Files.errnoText()))")
      }
    }
  }

  /// Whether this directory holds a finished run: its summary covers every round, the final model
  /// exists, and every shard still matches the SHA-256 in the manifest.
  public func isComplete() -> Bool {
    guard let topology = try? loadTopology(),
      let s = try? JSONDecoder.snake.decode(RunSummary.self, from: Data(Files.read(summaryFile))),
      s.rounds == topology.rounds, FileManager.default.fileExists(atPath: modelFile),
      let m = try? JSONDecoder.snake.decode(RunManifest.self, from: Data(Files.read(manifestFile)))
    else { return false }
    for (w, digest) in m.shards.enumerated() {
      guard let bytes = try? Files.read(shardFile(w)), Provenance.sha256Hex(bytes) == digest else { return false }
    }
    return true
  }

  /// metrics.jsonl, decoded line by line with its one schema (`RoundMetrics`).
  public func loadMetrics() throws -> [RoundMetrics] {
    let data = try Files.read(metricsFile)
    return try data.split(separator: 0x0A).enumerated().map { k, line in
      do { return try JSONDecoder.snake.decode(RoundMetrics.self, from: Data(line)) } catch {
        throw FileFormatError(path: metricsFile, message: "line \(k + 1) is not a round's metrics (\(error))")
      }
    }
  }

  /// How many rounds metrics.jsonl holds (for progress and interrupt messages).
  public func roundsLogged() -> Int {
    guard let d = FileManager.default.contents(atPath: metricsFile) else { return 0 }
    return d.split(separator: 0x0A).count { (try? JSONDecoder.snake.decode(RoundMetrics.self, from: Data($0))) != nil }
  }

  public func loadSummary() throws -> RunSummary {
    try JSONDecoder.snake.decode(RunSummary.self, from: Data(Files.read(summaryFile)))
  }

  /// The run's manifest (provenance, run nonce, shard digests and sizes).
  public func loadManifest() throws -> RunManifest {
    let bytes = try Files.read(manifestFile)
    do {
      return try JSONDecoder.snake.decode(RunManifest.self, from: Data(bytes))
    } catch {
      throw FileFormatError(
        path: manifestFile, message: "not a run manifest (\(error)); was the run prepared by an older byzsim? Prepare it again")
    }
  }

  /// `role`'s CURVE secret key (keys/<role>.secret), and only that one.
  func loadSecretKey(_ role: Role) throws -> CurveKeyPair {
    let path = secretKeyFile(role.description)
    let text = String(decoding: try Files.read(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let keys = CurveKeyPair(secretKey: text) else {
      throw FileFormatError(path: path, message: "not a CURVE secret key (40 Z85 characters)")
    }
    return keys
  }

  public func loadTopology() throws -> Topology {
    let d = try Files.read(topologyFile)
    do {
      return try JSONDecoder.snake.decode(Topology.self, from: Data(d))
    } catch {
      throw FileFormatError(path: topologyFile, message: "not a resolved topology (\(error)); is this a run directory?")
    }
  }

  /// coordinator.json: the coordinator role's own measurements.
  public func writeCoordinatorSummary(_ s: RunSummary) throws { try writeJSON(s, to: coordinatorSummaryFile) }

  func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    try Files.writeAtomically(Array(try JSONEncoder.snake(pretty: true).encode(value)) + [0x0A], to: path)
  }

  /// Appends one line to events.log (joins, deaths, refusals, skipped rounds...). An event
  /// that cannot be written (a full disk) goes to standard error instead: it is never lost
  /// silently, and it never stops the run (metrics and checkpoints report their own failures).
  func logEvent(_ text: String) {
    let line = Array((text + "\n").utf8)
    let fd = open(eventsFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    let ok = fd >= 0 && line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == line.count
    if fd >= 0 { close(fd) }
    if !ok { FileHandle.standardError.write(Data("byzsim: \(eventsFile): cannot append (\(Files.errnoText())); event: \(text)\n".utf8)) }
  }
}

/// What the run directory's keys/public.json holds: every public key of the run.
struct PublicKeys: Codable {
  var coordinator: String
  /// Worker id (as a string) → Z85 public key.
  var workers: [String: String]
  /// The adversary hub's public key, when the run has update attacks.
  var hub: String?
}

/// Which workers are malicious (ground truth known only to the launcher and evaluation).
public struct Truth: Codable, Sendable {
  public var malicious: [Int]
  public var behaviors: [String]
}

/// The provenance manifest of a run: what every role checks its inputs against.
public struct RunManifest: Codable, Sendable {
  var seed: UInt64
  var topologyName: String
  /// A random nonce drawn by `prepare` (16 hex digits): the run id of every frame, so two runs
  /// with the same seed on one endpoint never mix. Not an input of any computation.
  var runNonce: String
  /// The model's parameter count.
  var modelParameters: Int
  /// The images the model takes (height × width × channels) and its classes.
  var input: ImageShape
  var classes: Int
  var dataFiles: [FileDigest]
  /// SHA-256 of each worker's shard file, by worker id.
  var shards: [String]
  /// Samples in each worker's shard, by worker id: what update weights are derived from.
  var shardSamples: [Int]
  /// SHA-256 of each poisoned (attack-round) shard file, by worker id.
  var poisonedShards: [String: String] = [:]
  /// SHA-256 of FLTrust's root dataset file, if any.
  var rootShard: String?
  /// SHA-256 of init.safetensors, the model the run starts from (`--init-from`), if any.
  var initModel: String?
  var gitCommit: String?
  var binarySHA256: String?
  /// The start-up measurement workers must match (`security.attestation`); nil when off.
  var attestation: Measurement?
  /// SHA-256 of each worker group's compromised dependency (`supply_chain`), by group index.
  var supplyChain: [String: String]?
  /// SHA-256 of sbom.cdx.json, the CycloneDX SBOM of the build that prepared the run.
  var sbomSHA256: String?
  var createdAt: String

  /// The run nonce as the frames' run id.
  func runID(path: String) throws -> UInt64 {
    guard runNonce.utf8.count == 16, let id = UInt64(runNonce, radix: 16) else {
      throw FileFormatError(path: path, message: "run_nonce must be 16 hex digits, found \"\(runNonce)\"")
    }
    return id
  }
}
