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

  /// A number `fastNumber` did not read: its bytes (the longest run of number characters)
  /// through `Float(String)`, which reads exponents, signs and long mantissas.
  mutating func number() throws -> Float {
    skipSpace()
    let start = pos
    let end = bytes.withUnsafeBufferPointer { b in
      var i = start
      while i < b.count, Self.isNumberByte(b[i]) { i += 1 }
      return i
    }
    pos = end
    guard end > start, end - start <= 64, let v = Float(String(decoding: bytes[start..<end], as: UTF8.self)) else {
      throw fail("expected a number")
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

  /// `[n, n, …]` of exactly `size` numbers, appended to `out`. Runs of numbers the fast path
  /// reads (`fastNumber`) and the commas between them are read in one pass over the bytes; any
  /// other number goes through `number()`.
  mutating func vector(size: Int, into out: inout [Float], index: Int) throws {
    try expect(0x5b)
    func tooMany() -> PredictInputs.Invalid { fail("input \(index) has more than \(size) numbers; the model takes \(size)") }
    var n = 0
    if peek() != 0x5d {
      while true {
        var p = pos, got = n, closed = false
        bytes.withUnsafeBufferPointer { b in
          func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 }
          while got <= size, let (value, end) = Self.fastNumber(b, p) {
            out.append(value)
            got += 1
            p = end
            while p < b.count, blank(b[p]) { p += 1 }
            guard p < b.count, b[p] == 0x2c else {
              closed = true
              return
            }
            p += 1
            while p < b.count, blank(b[p]) { p += 1 }
          }
        }
        pos = p
        n = got
        guard n <= size else { throw tooMany() }
        if closed { break }
        out.append(try number())
        n += 1
        guard n <= size else { throw tooMany() }
        guard peek() == 0x2c else { break }
        pos += 1
      }
    }
    try expect(0x5d)
    guard n == size else { throw fail("input \(index) has \(n) numbers; the model takes \(size)") }
  }

  /// The number at `start` and where it ends, if it is `-?digits(.digits)?` followed by a byte
  /// that cannot continue a number, with a mantissa below 2^24 and at most 10 decimals: read
  /// exactly, since such an integer and 10^decimals are exact in Float and one division rounds
  /// once, as `Float(String)` does (Clinger's fast path). Otherwise nil (nothing read).
  @inline(__always)
  static func fastNumber(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> (Float, Int)? {
    var i = start
    let count = b.count
    let negative = i < count && b[i] == 0x2d
    if negative { i += 1 }
    let first = i
    var mantissa = 0
    while i < count, i - first < 9 {
      let d = b[i] &- 0x30
      guard d < 10 else { break }
      mantissa = mantissa &* 10 &+ Int(d)
      i += 1
    }
    guard i > first else { return nil }
    var decimals = 0
    if i < count, b[i] == 0x2e {
      i += 1
      let fraction = i
      while i < count, i - fraction < 11 {
        let d = b[i] &- 0x30
        guard d < 10 else { break }
        mantissa = mantissa &* 10 &+ Int(d)
        i += 1
      }
      decimals = i - fraction
      guard decimals > 0, decimals <= 10 else { return nil }
    }
    // The byte after must end the number (not a digit past the limits, an exponent or a sign).
    guard mantissa < 1 << 24, i - first <= 19, i >= count || !isNumberByte(b[i]) else { return nil }
    let value = Float(mantissa) / power(decimals)
    return (negative ? -value : value, i)
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
