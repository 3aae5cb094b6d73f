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
    while pos < bytes.count, (0x30...0x39).contains(bytes[pos]) || [0x2d, 0x2b, 0x2e, 0x65, 0x45].contains(bytes[pos]) { pos += 1 }
    guard pos > start, pos - start <= 64, let v = Float(String(decoding: bytes[start..<pos], as: UTF8.self)) else {
      throw fail("expected a number")
    }
    guard v.isFinite else { throw fail("a number out of range (\(String(decoding: bytes[start..<pos], as: UTF8.self)))") }
    return v
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
