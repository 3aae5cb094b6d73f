import Foundation

/// Little-endian binary writer/reader for ByzSim's own files (shards, checkpoints, models).
struct BinaryWriter {
  private(set) var bytes: [UInt8] = []

  mutating func magic(_ m: String) { bytes += Array(m.utf8) }
  mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
  mutating func floats(_ v: [Float]) {
    u64(UInt64(v.count))
    v.withUnsafeBytes { bytes += $0 }  // little-endian hosts only (x86-64, arm64)
  }
  mutating func doubles(_ v: [Double]) {
    u64(UInt64(v.count))
    v.withUnsafeBytes { bytes += $0 }  // little-endian hosts only (x86-64, arm64)
  }
  mutating func raw(_ b: [UInt8]) { bytes += b }
}

/// Reads what `BinaryWriter` wrote; every read is bounds-checked and throws `FileFormatError`.
struct BinaryReader {
  let bytes: [UInt8]
  let path: String
  var offset = 0
  var remaining: Int { bytes.count - offset }

  init(_ bytes: [UInt8], path: String) { self.bytes = bytes; self.path = path }

  func fail(_ what: String) -> FileFormatError { FileFormatError(path: path, message: what) }

  mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
    guard n >= 0, offset + n <= bytes.count else {
      throw fail("truncated: \(what) needs \(n) bytes at offset \(offset), the file has \(bytes.count)")
    }
    defer { offset += n }
    return bytes[offset..<(offset + n)]
  }

  mutating func magic(_ m: String) throws {
    let got = try take(m.utf8.count, "the magic number")
    guard Array(got) == Array(m.utf8) else { throw fail("not a \(m) file (magic \(Array(got)))") }
  }

  mutating func u32(_ what: String) throws -> UInt32 {
    let b = try take(4, what)
    return b.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
  }

  mutating func u64(_ what: String) throws -> UInt64 {
    let b = try take(8, what)
    return b.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
  }

  mutating func floats(_ what: String, limit: Int = 1 << 30) throws -> [Float] {
    let n = try u64("the length of \(what)")
    guard n <= UInt64(limit) else { throw fail("\(what) claims \(n) floats") }
    let b = try take(Int(n) * 4, what)
    return b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  mutating func doubles(_ what: String, limit: Int) throws -> [Double] {
    let n = try u64("the length of \(what)")
    guard n <= UInt64(limit) else { throw fail("\(what) claims \(n) values") }
    let b = try take(Int(n) * 8, what)
    return b.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
  }

  func finish() throws {
    guard offset == bytes.count else { throw fail("\(bytes.count - offset) unexpected trailing bytes") }
  }
}

public struct FileFormatError: Error, Equatable, CustomStringConvertible {
  public let path: String
  public let message: String
  public var description: String { "\(path): \(message)" }
}

enum Files {
  /// ": …ENOSPC…" when the filesystem holding `path` has no space left, else "".
  static func fullDiskNote(_ path: String) -> String {
    var s = statvfs()
    guard statvfs(path, &s) == 0, s.f_bavail == 0 else { return "" }
    return ": its log is empty and the filesystem of \(path) has no space left (ENOSPC); free some space"
  }

  /// Appends `data` to `path` (created if missing) in one write(2) with O_APPEND.
  static func append(_ data: Data, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileFormatError(path: path, message: "cannot open to append (\(errnoText()))") }
    defer { close(fd) }
    let ok = data.withUnsafeBytes { buf -> Bool in
      var written = 0
      while written < buf.count {
        let n = write(fd, buf.baseAddress! + written, buf.count - written)
        if n < 0 { if errno == EINTR { continue }; return false }
        written += n
      }
      return true
    }
    guard ok else { throw FileFormatError(path: path, message: "cannot append (\(errnoText()))") }
  }

  /// Writes `data` so that a crash at any instant leaves either the old file or the new one:
  /// temp file in the same directory, fsync, rename over the target, fsync the directory.
  /// `mode` applies from the file's creation (a secret is never readable by others, even briefly).
  static func writeAtomically(_ data: [UInt8], to path: String, mode: mode_t = 0o644) throws {
    let dir = (path as NSString).deletingLastPathComponent
    let tmp = (dir as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())")
    unlink(tmp)  // a leftover of a crashed writer with this pid
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard fd >= 0 else { throw FileFormatError(path: tmp, message: "cannot create (\(errnoText()))") }
    var written = 0
    let ok = data.withUnsafeBytes { buf -> Bool in
      while written < buf.count {
        let n = write(fd, buf.baseAddress! + written, buf.count - written)
        if n < 0 { if errno == EINTR { continue }; return false }
        written += n
      }
      return true
    }
    guard ok, fsync(fd) == 0 else {
      let why = errnoText()
      close(fd); unlink(tmp)
      throw FileFormatError(path: path, message: "write failed (\(why)); the previous version of the file is intact")
    }
    close(fd)
    guard rename(tmp, path) == 0 else {
      let why = errnoText()
      unlink(tmp)
      throw FileFormatError(path: path, message: "rename failed (\(why)); the previous version of the file is intact")
    }
    let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
    if dfd >= 0 { fsync(dfd); close(dfd) }
  }

  /// errno as text, with its name for the common file errors ("ENOSPC: No space left on device").
  static func errnoText(_ code: Int32 = errno) -> String {
    let names: [Int32: String] = [
      ENOSPC: "ENOSPC", EDQUOT: "EDQUOT", EROFS: "EROFS", EACCES: "EACCES", ENOENT: "ENOENT",
      EEXIST: "EEXIST", EIO: "EIO", EFBIG: "EFBIG", EPERM: "EPERM", ENOTDIR: "ENOTDIR",
    ]
    let text = String(cString: strerror(code))
    return names[code].map { "\($0): \(text)" } ?? "errno \(code): \(text)"
  }

  static func read(_ path: String) throws -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else {
      let why = access(path, F_OK) != 0 ? "no such file" : access(path, R_OK) != 0 ? "permission denied" : "cannot read the file"
      throw FileFormatError(path: path, message: why)
    }
    return [UInt8](d)
  }
}
