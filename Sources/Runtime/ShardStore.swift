import Data
import Foundation

/// One copy of each distinct shard for a sweep. Cells that share data, partition and seed (a
/// grid over aggregators or attacks) get byte-identical shards — about 45 MB per cell on
/// Fashion-MNIST — so after a cell is prepared, each of its shard files becomes a hard link to
/// `<store>/<sha256>.bin`. This is safe because no file in a run directory is ever written in
/// place (every writer writes a temporary file and renames it over), so a shared inode never
/// changes under another cell; removing a cell removes only its links.
public struct ShardStore {
  public let directory: String

  public init(directory: String) throws {
    self.directory = directory
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  /// Links `run`'s shards into the store; returns the bytes saved. A file system without hard
  /// links (or across devices) leaves the cell's own copies, which are correct, only larger.
  @discardableResult
  public func share(_ run: RunDirectory) throws -> Int {
    let shards = run.file("shards")
    var saved = 0
    for name in try FileManager.default.contentsOfDirectory(atPath: shards).sorted() where name.hasSuffix(".bin") {
      let path = (shards as NSString).appendingPathComponent(name)
      let bytes = try Files.read(path)
      let stored = (directory as NSString).appendingPathComponent(Provenance.sha256Hex(bytes) + ".bin")
      if FileManager.default.fileExists(atPath: stored) {
        // Check the stored copy before trusting it: it must hold exactly these bytes.
        guard try Files.read(stored) == bytes else {
          throw FileFormatError(
            path: stored, message: "the sweep's stored shard does not match its digest (edited on disk?); remove it and resume")
        }
        let tmp = path + ".link-\(getpid())"
        unlink(tmp)
        guard link(stored, tmp) == 0 else { return saved }
        guard rename(tmp, path) == 0 else {
          let why = Files.errnoText()
          unlink(tmp)
          throw FileFormatError(path: path, message: "cannot replace the shard by the sweep's shared copy (\(why))")
        }
        saved += bytes.count
      } else if link(path, stored) != 0 {
        return saved
      }
    }
    return saved
  }
}
