import Data
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
  public var summaryFile: String { file("summary.json") }
  public var eventsFile: String { file("events.log") }
  /// Ground truth (which workers are malicious): written by the launcher, read only by evaluation.
  public var truthFile: String { file("truth.json") }
  /// The ipc:// endpoint of the adversary hub.
  public var hubEndpoint: String { "ipc://" + file("hub.sock") }
  public var logsDirectory: String { file("logs") }
  func shardFile(_ worker: Int) -> String { file("shards/worker-\(worker).bin") }
  /// A data-attacking worker's poisoned shard (used in its attack rounds).
  func poisonedShardFile(_ worker: Int) -> String { file("shards/worker-\(worker).poisoned.bin") }
  /// FLTrust's clean root dataset, held by the coordinator.
  var rootShardFile: String { file("shards/root.bin") }
  func secretKeyFile(_ role: String) -> String { file("keys/\(role).secret") }
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
      guard errno == EEXIST else { throw FileFormatError(path: candidate, message: "cannot create the run directory (errno \(errno))") }
      candidate = (root as NSString).appendingPathComponent("\(name)-\(stamp)-\(k)")
      k += 1
    }
    for sub in ["logs", "keys", "shards"] {
      try fm.createDirectory(atPath: (candidate as NSString).appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    return RunDirectory(path: (candidate as NSString).standardizingPath)
  }

  /// Creates exactly `path` (it must not exist) with its subfolders.
  public static func create(at path: String) throws -> RunDirectory {
    let fm = FileManager.default
    try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    guard mkdir(path, 0o755) == 0 else { throw FileFormatError(path: path, message: "cannot create the run directory (errno \(errno))") }
    for sub in ["logs", "keys", "shards"] {
      try fm.createDirectory(atPath: (path as NSString).appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    return RunDirectory(path: (path as NSString).standardizingPath)
  }

  /// Whether this directory holds a finished run: its summary covers every round, the final model
  /// exists, and every shard still matches the SHA-256 in the manifest.
  public func isComplete() -> Bool {
    guard let topology = try? loadTopology(),
          let s = try? JSONDecoder.snake.decode(RunSummary.self, from: Data(Files.read(summaryFile))),
          s.rounds == topology.rounds, FileManager.default.fileExists(atPath: modelFile),
          let m = try? JSONDecoder.snake.decode(RunManifest.self, from: Data(Files.read(manifestFile))) else { return false }
    for (w, digest) in m.shards.enumerated() {
      guard let bytes = try? Files.read(shardFile(w)), Provenance.sha256Hex(bytes) == digest else { return false }
    }
    return true
  }

  public func loadSummary() throws -> RunSummary {
    try JSONDecoder.snake.decode(RunSummary.self, from: Data(Files.read(summaryFile)))
  }

  public func loadTopology() throws -> Topology {
    let d = try Files.read(topologyFile)
    do {
      return try JSONDecoder.snake.decode(Topology.self, from: Data(d))
    } catch {
      throw FileFormatError(path: topologyFile, message: "not a resolved topology (\(error)); is this a run directory?")
    }
  }

  func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    try Files.writeAtomically(Array(try JSONEncoder.snake(pretty: true).encode(value)) + [0x0A], to: path)
  }

  /// Appends one line to events.log (joins, deaths, refusals, skipped rounds...).
  func logEvent(_ text: String) {
    let line = Array((text + "\n").utf8)
    let fd = open(eventsFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    guard fd >= 0 else { return }
    _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
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

/// The provenance manifest of a run.
struct RunManifest: Codable {
  var seed: UInt64
  var topologyName: String
  var dataFiles: [FileDigest]
  /// SHA-256 of each worker's shard file, by worker id.
  var shards: [String]
  /// SHA-256 of FLTrust's root dataset file, if any.
  var rootShard: String?
  var gitCommit: String?
  var binarySHA256: String?
  var createdAt: String
}
