/// A predict body: `{"input": [x, …]}` for one input or `{"inputs": [[x, …], …]}` for a batch,
/// each input `inputSize` finite numbers (pixels in [0, 1], HWC order as ByzSim's data). Unknown
/// keys, wrong shapes, NaN or ±Inf, over `maxBatch` inputs, and anything not JSON are refused with
/// the reason.
struct PredictInputs {
  var values: [Float]
  var count: Int

  struct Invalid: Error, CustomStringConvertible {
    let description: String
  }

  /// `application/octet-stream`: inputs laid end to end as little-endian Float32.
  static func decodeBinary(_ body: [UInt8], inputSize: Int, maxBatch: Int) throws -> PredictInputs {
    let size = inputSize * 4
    guard !body.isEmpty, body.count % size == 0 else {
      throw Invalid(
        description: "a binary predict body is inputs of \(inputSize) little-endian Float32s (\(size) bytes each); got \(body.count) bytes")
    }
    let count = body.count / size
    guard count <= maxBatch else { throw Invalid(description: "\(count) inputs in one request; at most \(maxBatch) (server.max_batch)") }
    let values = [Float](unsafeUninitializedCapacity: count * inputSize) { out, initialized in
      body.withUnsafeBytes { UnsafeMutableRawBufferPointer(out).copyMemory(from: $0) }
      #if _endian(big)
      for i in out.indices { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
      #endif
      initialized = out.count
    }
    if !allFinite(values), let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw Invalid(description: "input \(bad / inputSize), value \(bad % inputSize) is \(values[bad])")
    }
    return PredictInputs(values: values, count: count)
  }

  /// No NaN or ±Inf among `values`, without a branch per value: a Float is not finite exactly
  /// when its exponent bits are all ones, and then adding 1 to the exponent carries into the
  /// sign bit.
  static func allFinite(_ values: [Float]) -> Bool {
    values.withUnsafeBufferPointer { floats in
      floats.withMemoryRebound(to: UInt32.self) { words in
        var carry: UInt32 = 0
        for bits in words { carry |= (bits & 0x7f80_0000) &+ 0x0080_0000 }
        return carry & 0x8000_0000 == 0
      }
    }
  }

  static func decode(_ body: [UInt8], inputSize: Int, maxBatch: Int) throws -> PredictInputs {
    var parser = JSONNumbers(bytes: body)
    return try parser.predictBody(inputSize: inputSize, maxBatch: maxBatch)
  }
}

/// A small JSON reader for exactly the predict body's shape: faster than a general decoder on
/// 784-number arrays, and strict (one object, the two keys, numbers only, nothing after).
struct JSONNumbers {
  let bytes: [UInt8]
  var pos = 0

  init(bytes: [UInt8]) { self.bytes = bytes }

  func fail(_ why: String) -> PredictInputs.Invalid {
    PredictInputs.Invalid(
      description: "malformed predict body at byte \(pos): \(why); send {\"input\": [...]} or {\"inputs\": [[...], ...]}")
  }

  mutating func skipSpace() {
    while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0a || bytes[pos] == 0x0d || bytes[pos] == 0x09 { pos += 1 }
  }

  mutating func expect(_ c: UInt8) throws {
    skipSpace()
    guard pos < bytes.count, bytes[pos] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
    pos += 1
  }

  mutating func peek() -> UInt8? {
    skipSpace()
    return pos < bytes.count ? bytes[pos] : nil
  }

  mutating func key() throws -> String {
    try expect(0x22)
    let start = pos
    while pos < bytes.count, bytes[pos] != 0x22 {
      guard bytes[pos] != 0x5c else { throw fail("escapes are not expected in a key") }
      pos += 1
    }
    guard pos < bytes.count else { throw fail("an unterminated string") }
    defer { pos += 1 }
    return String(decoding: bytes[start..<pos], as: UTF8.self)
  }

  mutating func number() throws -> Float {
    skipSpace()
    let start = pos
    let end = bytes.withUnsafeBufferPointer { b in
      var i = start
      while i < b.count, Self.isNumberByte(b[i]) { i += 1 }
      return i
    }
    pos = end
    guard end > start, end - start <= 64 else { throw fail("expected a number") }
    let v: Float
    if let fast = bytes.withUnsafeBufferPointer({ Self.fastDecimal($0, start, end) }) {
      v = fast
    } else {
      guard let slow = Float(String(decoding: bytes[start..<end], as: UTF8.self)) else { throw fail("expected a number") }
      v = slow
    }
    guard v.isFinite else { throw fail("a number out of range (\(String(decoding: bytes[start..<end], as: UTF8.self)))") }
    return v
  }

  @inline(__always) static func isNumberByte(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45
  }

  @inline(__always) static func power(_ n: Int) -> Float {
    switch n {
    case 0: 1
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    default: 1e10
    }
  }

  static func fastDecimal(_ b: [UInt8], _ start: Int, _ end: Int) -> Float? {
    b.withUnsafeBufferPointer { fastDecimal($0, start, end) }
  }

  /// `-?digits(.digits)?` with at most 7 significant digits and 10 decimals, read exactly:
  /// an integer below 2^24 and a power of ten up to 10^10 are exact in Float, so one division
  /// rounds once, as `Float(String)` does (Clinger's fast path). Anything else: nil.
  static func fastDecimal(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
    var i = start
    let negative = b[i] == 0x2d
    if negative { i += 1 }
    var mantissa = 0
    var digits = 0
    var decimals = 0
    var seenPoint = false
    var sawDigit = false
    guard i < end else { return nil }
    while i < end {
      let c = b[i]
      if c == 0x2e {
        guard !seenPoint, sawDigit else { return nil }
        seenPoint = true
      } else if c >= 0x30 && c <= 0x39 {
        sawDigit = true
        mantissa = mantissa * 10 + Int(c - 0x30)
        if mantissa > 0 { digits += 1 }
        if seenPoint { decimals += 1 }
        if digits > 7 || decimals > 10 { return nil }
      } else {
        return nil
      }
      i += 1
    }
    if seenPoint && b[end - 1] == 0x2e { return nil }
    let value = Float(mantissa) / power(decimals)
    return negative ? -value : value
  }

  /// `[n, n, …]` of exactly `size` numbers, appended to `out`.
  mutating func vector(size: Int, into out: inout [Float], index: Int) throws {
    try expect(0x5b)
    var n = 0
    if peek() != 0x5d {
      while true {
        out.append(try number())
        n += 1
        guard n <= size else { throw fail("input \(index) has more than \(size) numbers; the model takes \(size)") }
        guard peek() == 0x2c else { break }
        pos += 1
      }
    }
    try expect(0x5d)
    guard n == size else { throw fail("input \(index) has \(n) numbers; the model takes \(size)") }
  }

  mutating func predictBody(inputSize: Int, maxBatch: Int) throws -> PredictInputs {
    var values: [Float] = []
    var count = 0
    try expect(0x7b)
    let k = try key()
    try expect(0x3a)
    switch k {
    case "input":
      values.reserveCapacity(inputSize)
      try vector(size: inputSize, into: &values, index: 0)
      count = 1
    case "inputs":
      try expect(0x5b)
      if peek() != 0x5d {
        while true {
          guard count < maxBatch else { throw fail("more than \(maxBatch) inputs in one request (server.max_batch)") }
          try vector(size: inputSize, into: &values, index: count)
          count += 1
          guard peek() == 0x2c else { break }
          pos += 1
        }
      }
      try expect(0x5d)
      guard count > 0 else { throw fail("an empty batch") }
    default:
      throw fail("unknown key \"\(k)\"")
    }
    try expect(0x7d)
    skipSpace()
    guard pos == bytes.count else { throw fail("trailing data after the object") }
    return PredictInputs(values: values, count: count)
  }
}
