import Crypto
import Foundation
import Synchronization

/// The SHA-256 digests of files (executables, shared objects) that measured start-up, the SBOM
/// and the manifest record, each file hashed once per host launch rather than once per use.
///
/// A digest is kept under the file's identity — device, inode, size, modification and change
/// times, from stat — only if that identity is the same after hashing as before and the file last
/// changed over two seconds ago: file times tick coarsely, so two writes within one tick can leave
/// the same times (git's "racy" entries), while a file written or replaced after the digest was
/// taken has a later change time. A kept digest is used only for a file whose identity is the
/// same in every field; anything else is hashed.
///
/// The launcher hands its kept digests to the roles it starts on its own host
/// (`handedDownVariable`), so ten workers do not each hash the same 230 MB of binary and
/// libraries (half the CPU of a one-round default run). A file a worker maps that the launcher
/// did not — a preloaded library, a library replaced since — has no digest handed down and is
/// hashed; a worker started on another host matches no identity. Whoever chooses a worker's
/// environment could hand down false digests, but could as well start a binary that lies about
/// itself, which self-measurement cannot catch either (see `Measurement`).
public enum MeasuredFiles {
  /// The environment variable that carries a launcher's digests to the roles it starts.
  public static let handedDownVariable = "BYZSIM_MEASURED_FILES"

  /// The SHA-256 of the file at `path`, hex (kept or computed; see above).
  static func digest(_ path: String) throws -> String { try lookUpOrHash(path).hex }

  /// `digest`, and whether it was kept from before (hashed earlier here, or handed down).
  static func lookUpOrHash(_ path: String) throws -> (hex: String, remembered: Bool) {
    let before = FileIdentity(path)
    if let before, let known = kept.withLock({ $0[before] }) { return (known, true) }
    let hex = try hash(path)
    if let before, before.isOld, FileIdentity(path) == before {
      kept.withLock { $0[before] = hex }
    }
    return (hex, false)
  }

  private static let kept = Mutex<[FileIdentity: String]>([:])

  /// The kept digests as one line for `handedDownVariable`: entries
  /// `device:inode:size:mtime-s:mtime-ns:ctime-s:ctime-ns:sha256` joined by `;` (empty: none).
  public static func handDown() -> String {
    kept.withLock { digests in
      digests.map { id, hex in
        [
          String(id.device), String(id.inode), String(id.size), String(id.modified.tv_sec), String(id.modified.tv_nsec),
          String(id.changed.tv_sec), String(id.changed.tv_nsec), hex,
        ].joined(separator: ":")
      }.sorted().joined(separator: ";")
    }
  }

  /// Keeps the digests of `text` (as `handDown` writes them). A malformed text is refused whole,
  /// naming the first bad entry; nothing of it is kept.
  static func adopt(_ text: String) throws {
    var entries: [(FileIdentity, String)] = []
    for (index, entry) in text.split(separator: ";", omittingEmptySubsequences: true).enumerated() {
      let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
      func bad(_ why: String) -> RuntimeError {
        RuntimeError("\(handedDownVariable): entry \(index + 1) (\(entry.prefix(200))) \(why)")
      }
      guard fields.count == 8 else { throw bad("has \(fields.count) fields, expected 8") }
      let numbers = fields.prefix(7).map { Int64($0) }
      guard numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else { throw bad("has a field that is not a non-negative integer") }
      let n = numbers.map { $0! }
      let hex = String(fields[7])
      guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
        throw bad("has no SHA-256 (64 lowercase hex digits)")
      }
      guard n[4] < 1_000_000_000, n[6] < 1_000_000_000 else { throw bad("has nanoseconds over 999,999,999") }
      let identity = FileIdentity(
        device: UInt64(n[0]), inode: UInt64(n[1]), size: n[2], modified: timespec(tv_sec: Int(n[3]), tv_nsec: Int(n[4])),
        changed: timespec(tv_sec: Int(n[5]), tv_nsec: Int(n[6])))
      entries.append((identity, hex))
    }
    kept.withLock { for (identity, hex) in entries { $0[identity] = hex } }
  }

  /// Adopts what the launcher handed down, once per process; a malformed variable is said on
  /// standard error (the role's log) and ignored: everything is then hashed.
  static func adoptHandedDown() { handedDown }

  /// Run once, on first use (a static's initializer).
  private static let handedDown: Void = {
    guard let text = ProcessInfo.processInfo.environment[handedDownVariable], !text.isEmpty else { return }
    do { try adopt(text) } catch {
      FileHandle.standardError.write(Data("ignoring the digests handed down: \(error); every file is hashed\n".utf8))
    }
  }()

  /// What stat says of a file that changes when its bytes may have (nil: it cannot be stat'ed).
  struct FileIdentity: Hashable {
    var device: UInt64, inode: UInt64, size: Int64
    var modified: timespec, changed: timespec

    init(device: UInt64, inode: UInt64, size: Int64, modified: timespec, changed: timespec) {
      self.device = device
      self.inode = inode
      self.size = size
      self.modified = modified
      self.changed = changed
    }

    init?(_ path: String) {
      var s = stat()
      guard stat(path, &s) == 0 else { return nil }
      self.init(device: UInt64(s.st_dev), inode: UInt64(s.st_ino), size: Int64(s.st_size), modified: s.st_mtim, changed: s.st_ctim)
    }

    /// Whether the file last changed over two seconds ago (its digest may be kept).
    var isOld: Bool { changed.tv_sec < time(nil) - 2 }

    static func == (a: Self, b: Self) -> Bool {
      a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec
        && a.modified.tv_nsec == b.modified.tv_nsec && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
    }

    func hash(into h: inout Hasher) {
      h.combine(device)
      h.combine(inode)
      h.combine(size)
      h.combine(modified.tv_nsec)
      h.combine(changed.tv_nsec)
    }
  }

  static func hash(_ path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw RuntimeError("attestation: cannot read \(path) to measure it") }
    defer { try? handle.close() }
    var hash = SHA256()
    while true {
      let chunk: Data
      do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
        throw RuntimeError("attestation: cannot read \(path) to measure it (\(error.localizedDescription))")
      }
      if chunk.isEmpty { break }
      hash.update(data: chunk)
    }
    return hash.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
