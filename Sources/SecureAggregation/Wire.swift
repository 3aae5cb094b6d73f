/// Little-endian byte writing and bounds-checked reading for the protocol's messages. A reader
/// never traps on hostile bytes: running short, or bytes left over, is a `SecureAggregationError`.
struct ByteWriter {
  var bytes: [UInt8] = []
  mutating func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { bytes.append(contentsOf: $0) } }
  mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
  mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
}

struct ByteReader {
  let bytes: [UInt8]
  let what: String
  var offset = 0
  init(_ bytes: [UInt8], what: String) { self.bytes = bytes; self.what = what }

  mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
    guard n >= 0, bytes.count - offset >= n else { throw SecureAggregationError("\(what): \(bytes.count) bytes is too short") }
    defer { offset += n }
    return bytes[offset..<offset + n]
  }
  mutating func u32() throws -> Int { Int(try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
  mutating func u64() throws -> UInt64 { try take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
  mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
  /// A count of items of at least `itemSize` bytes each, checked against the bytes left.
  mutating func count(itemSize: Int) throws -> Int {
    let n = try u32()
    guard n <= (bytes.count - offset) / max(itemSize, 1) else {
      throw SecureAggregationError("\(what): a count of \(n) does not fit the message")
    }
    return n
  }
  func end() throws {
    guard offset == bytes.count else { throw SecureAggregationError("\(what): \(bytes.count - offset) bytes left over") }
  }
}
