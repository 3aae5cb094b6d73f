import Data

/// A read-only view of a ZIP archive (PKWARE APPNOTE 6.3.10: end of central directory, ZIP64
/// end record, central directory, local headers), enough for PyTorch's `.pt` archives and NumPy's
/// `.npz`: stored and deflated members, bounded inflation.
struct ZipArchive {
  struct Entry {
    let name: String
    let method: UInt16
    let compressedSize: Int
    let size: Int
    let localHeader: Int
  }

  let bytes: UnsafeRawBufferPointer
  let entries: [Entry]

  static func isZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4b && (bytes[2] == 3 || bytes[2] == 5) && (bytes[3] == 4 || bytes[3] == 6)
  }

  init(_ bytes: UnsafeRawBufferPointer, maxEntries: Int = 100_000) throws {
    self.bytes = bytes
    let reader = Reader(bytes: bytes)
    // The end-of-central-directory record sits in the last 22 + 65,535 bytes.
    let floor = max(0, bytes.count - 22 - 65_535)
    var eocd = -1
    var i = bytes.count - 22
    while i >= floor {
      if bytes[i] == 0x50, bytes[i + 1] == 0x4b, bytes[i + 2] == 5, bytes[i + 3] == 6 {
        eocd = i
        break
      }
      i -= 1
    }
    guard eocd >= 0 else { throw ScanError.container("a ZIP archive without an end-of-central-directory record (truncated?)") }
    var count = Int(try reader.u16(at: eocd + 10))
    var directorySize = Int(try reader.u32(at: eocd + 12))
    var directoryOffset = Int(try reader.u32(at: eocd + 16))
    if count == 0xFFFF || directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF {
      // ZIP64: the locator just before the EOCD points at the ZIP64 end record.
      guard eocd >= 20, try reader.u32(at: eocd - 20) == 0x0706_4b50 else {
        throw ScanError.container("a ZIP64 archive without its locator")
      }
      let record = try reader.int64(at: eocd - 12)
      guard try reader.u32(at: record) == 0x0606_4b50 else {
        throw ScanError.container("a ZIP64 end record that is not where its locator says")
      }
      count = try reader.int64(at: record + 32)
      directorySize = try reader.int64(at: record + 40)
      directoryOffset = try reader.int64(at: record + 48)
    }
    guard count <= maxEntries else { throw ScanError.container("a ZIP archive of \(count) members (limit \(maxEntries))") }
    guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
      throw ScanError.container("a ZIP central directory past the end of the file (truncated?)")
    }
    var entries: [Entry] = []
    var at = directoryOffset
    for _ in 0..<count {
      guard try reader.u32(at: at) == 0x0201_4b50 else { throw ScanError.container("a corrupt ZIP central directory at offset \(at)") }
      let method = try reader.u16(at: at + 10)
      var compressed = Int(try reader.u32(at: at + 20))
      var size = Int(try reader.u32(at: at + 24))
      let nameLength = Int(try reader.u16(at: at + 28))
      let extraLength = Int(try reader.u16(at: at + 30))
      let commentLength = Int(try reader.u16(at: at + 32))
      var local = Int(try reader.u32(at: at + 42))
      let name = String(decoding: try reader.slice(at + 46, nameLength), as: UTF8.self)
      // ZIP64 extended information: the 0xFFFFFFFF fields, in order, in extra field 0x0001.
      var extra = at + 46 + nameLength
      let extraEnd = extra + extraLength
      while extra + 4 <= extraEnd {
        let id = try reader.u16(at: extra)
        let length = Int(try reader.u16(at: extra + 2))
        if id == 1 {
          var field = extra + 4
          if size == 0xFFFF_FFFF { size = try reader.int64(at: field); field += 8 }
          if compressed == 0xFFFF_FFFF { compressed = try reader.int64(at: field); field += 8 }
          if local == 0xFFFF_FFFF { local = try reader.int64(at: field) }
        }
        extra += 4 + length
      }
      entries.append(Entry(name: name, method: method, compressedSize: compressed, size: size, localHeader: local))
      at = extraEnd + commentLength
    }
    self.entries = entries
  }

  /// A member's bytes: stored members as they are, deflated ones inflated up to `limit` bytes
  /// (and never past the size the directory declares: a lying entry is a bomb).
  func contents(_ entry: Entry, limit: Int) throws -> [UInt8] {
    let reader = Reader(bytes: bytes)
    guard try reader.u32(at: entry.localHeader) == 0x0403_4b50 else {
      throw ScanError.container("member \(entry.name): no local header at offset \(entry.localHeader)")
    }
    let start = entry.localHeader + 30 + Int(try reader.u16(at: entry.localHeader + 26)) + Int(try reader.u16(at: entry.localHeader + 28))
    let raw = try reader.slice(start, entry.compressedSize)
    switch entry.method {
    case 0:
      guard entry.compressedSize <= limit else {
        throw ScanError.container("member \(entry.name) is \(entry.compressedSize) bytes (limit \(limit))")
      }
      return Array(raw)
    case 8:
      guard entry.size <= limit else { throw ScanError.container("member \(entry.name) inflates to \(entry.size) bytes (limit \(limit))") }
      do {
        return try Gzip.inflate(Array(raw), path: entry.name, wrapper: .raw, limit: entry.size)
      } catch let error as DataError {
        throw ScanError.container("member \(entry.name): \(error)")
      }
    default:
      throw ScanError.container("member \(entry.name) uses compression method \(entry.method) (only stored and deflate are read)")
    }
  }

  /// Bounds-checked little-endian reads.
  struct Reader {
    let bytes: UnsafeRawBufferPointer
    func slice(_ at: Int, _ n: Int) throws -> UnsafeRawBufferPointer {
      guard at >= 0, n >= 0, at <= bytes.count, n <= bytes.count - at else {
        throw ScanError.container("a ZIP structure at offset \(at) runs past the end of the file (truncated?)")
      }
      return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
    }
    func uint(at: Int, _ size: Int) throws -> UInt64 {
      let raw = try slice(at, size)
      var v: UInt64 = 0
      for i in stride(from: size - 1, through: 0, by: -1) { v = v << 8 | UInt64(raw[i]) }
      return v
    }
    func u16(at: Int) throws -> UInt16 { UInt16(try uint(at: at, 2)) }
    func u32(at: Int) throws -> UInt32 { UInt32(try uint(at: at, 4)) }
    func int64(at: Int) throws -> Int {
      let v = try uint(at: at, 8)
      guard v <= UInt64(Int.max) else { throw ScanError.container("a ZIP64 size or offset over 2^63") }
      return Int(v)
    }
  }
}
