import Data
import Foundation

/// Checks a run's inputs against the SHA-256s its manifest recorded at `prepare`, at start and
/// on resume: a changed data file, a swapped or edited shard, or a shard from another run is
/// refused with the file and both digests, before anything trains on it.
enum Integrity {
  /// `bytes` (read from `path`) must have the SHA-256 `expected`.
  static func check(_ bytes: [UInt8], path: String, expected: String, what: String) throws {
    let actual = Provenance.sha256Hex(bytes)
    guard actual == expected else {
      throw FileFormatError(
        path: path,
        message: "\(what) does not match the run's manifest (SHA-256 \(actual), manifest \(expected)): "
          + "it was changed or replaced after `prepare`; restore it, or prepare a new run")
    }
  }

  /// Every loaded data file must be one the manifest lists, with the same digest.
  static func check(dataFiles: [FileDigest], manifest: RunManifest, manifestPath: String) throws {
    for f in dataFiles {
      guard let recorded = manifest.dataFiles.first(where: { $0.path == f.path }) else {
        throw FileFormatError(
          path: f.path, message: "this data file is not in the run's manifest (\(manifestPath)); the data directory changed after `prepare`"
        )
      }
      guard recorded.sha256 == f.sha256 else {
        throw FileFormatError(
          path: f.path,
          message: "the data file does not match the run's manifest (SHA-256 \(f.sha256), manifest \(recorded.sha256)): "
            + "it changed after `prepare`; restore it, or prepare a new run")
      }
    }
  }

  /// Reads a worker's shard (or its poisoned shard) and checks it against the manifest.
  static func shard(_ run: RunDirectory, manifest: RunManifest, worker: Int, poisoned: Bool) throws -> [UInt8] {
    let path = poisoned ? run.poisonedShardFile(worker) : run.shardFile(worker)
    let expected = poisoned ? manifest.poisonedShards[String(worker)] : (worker < manifest.shards.count ? manifest.shards[worker] : nil)
    guard let expected else { throw FileFormatError(path: path, message: "the run's manifest records no digest for this shard") }
    let bytes = try Files.read(path)
    try check(bytes, path: path, expected: expected, what: "the shard")
    return bytes
  }

  /// The launcher's check before it spawns anything: every shard present in the run directory
  /// (a per-host bundle holds only its own).
  static func checkShards(_ run: RunDirectory) throws {
    let manifest = try run.loadManifest()
    for w in manifest.shards.indices {
      _ = try shard(run, manifest: manifest, worker: w, poisoned: false)
      if manifest.poisonedShards[String(w)] != nil { _ = try shard(run, manifest: manifest, worker: w, poisoned: true) }
    }
    if let root = manifest.rootShard {
      try check(try Files.read(run.rootShardFile), path: run.rootShardFile, expected: root, what: "FLTrust's root dataset")
    }
  }
}
