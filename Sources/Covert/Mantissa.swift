/// Bit-level access to the low mantissa bits of Float32 values: the carrier of the mantissa
/// steganography channel, and the coordinator's sanitisation that destroys it.
///
/// A Float32 is 1 sign bit, 8 exponent bits and 23 mantissa bits. Overwriting the low k
/// mantissa bits of a finite value changes it by less than 2^(k−23) of its magnitude and never
/// touches the exponent, so the value stays finite (a zero may become a subnormal).
public enum Mantissa {
  public static let mantissaBits = 23

  /// Writes `message` (MSB first) into the low `bits` mantissa bits of `values`, `bits` per
  /// value, starting at `values[0]`. Values past the message are left as they are.
  /// - Precondition: 1 ≤ bits ≤ 23 and the message fits (`capacity(values:bits:)`).
  public static func embed(_ message: [UInt8], into values: inout [Float], bits: Int) {
    precondition((1...mantissaBits).contains(bits), "bits must be in 1...23")
    precondition(message.count <= capacity(values: values.count, bits: bits), "message of \(message.count) bytes exceeds the capacity")
    var reader = BitReader(message)
    let mask: UInt32 = (1 << UInt32(bits)) - 1
    var i = 0
    while reader.remaining > 0 {
      let take = min(bits, reader.remaining)
      // A short last chunk fills the high end of the k-bit field (so extraction stays MSB-first).
      let chunk = reader.read(take) << UInt32(bits - take)
      values[i] = Float(bitPattern: (values[i].bitPattern & ~mask) | chunk)
      i += 1
    }
  }

  /// Reads `count` bytes (MSB first) from the low `bits` mantissa bits of `values`.
  public static func extract<C: Collection>(_ values: C, bits: Int, count: Int) -> [UInt8] where C.Element == Float {
    precondition((1...mantissaBits).contains(bits), "bits must be in 1...23")
    var writer = BitWriter()
    let mask: UInt32 = (1 << UInt32(bits)) - 1
    let needed = count * 8
    for v in values {
      if writer.bitCount >= needed { break }
      let take = min(bits, needed - writer.bitCount)
      writer.write((v.bitPattern & mask) >> UInt32(bits - take), bits: take)
    }
    return Array(writer.bytes.prefix(count))
  }

  /// Bytes that `values` floats carry at `bits` bits each.
  public static func capacity(values: Int, bits: Int) -> Int { values * bits / 8 }

  /// Sanitisation: rounds every finite value to `keep` mantissa bits (round to nearest, ties to
  /// even), zeroing the 23 − keep low bits that a covert sender could use. keep = 23 is the
  /// identity. A value that would round up to infinity is truncated instead; NaN and ±∞ pass.
  ///
  /// Worked example (keep = 1): 1.25 (mantissa 0100…0) → 1.0; 1.75 (1100…0) → 2.0;
  /// 1.5 (1000…0) → 1.5.
  public static func sanitize(_ values: inout [Float], keep: Int) {
    precondition((0...mantissaBits).contains(keep), "keep must be in 0...23")
    guard keep < mantissaBits else { return }
    let drop = UInt32(mantissaBits - keep)
    let low: UInt32 = (1 << drop) - 1
    let half: UInt32 = 1 << (drop - 1)
    values.withUnsafeMutableBufferPointer { v in
      for i in v.indices where v[i].isFinite {
        let b = v[i].bitPattern
        let lsb = (b >> drop) & 1
        // Adding half − 1 + lsb then truncating rounds to nearest, ties to even; a carry out of
        // the mantissa correctly bumps the exponent.
        var r = (b &+ (half - 1 + lsb)) & ~low
        if !Float(bitPattern: r).isFinite { r = b & ~low }
        v[i] = Float(bitPattern: r)
      }
    }
  }
}

/// Reads bits MSB-first from bytes.
struct BitReader {
  let bytes: [UInt8]
  var position = 0
  init(_ bytes: [UInt8]) { self.bytes = bytes }
  var remaining: Int { bytes.count * 8 - position }
  mutating func read(_ n: Int) -> UInt32 {
    var out: UInt32 = 0
    for _ in 0..<n {
      let bit = (bytes[position >> 3] >> (7 - UInt8(position & 7))) & 1
      out = (out << 1) | UInt32(bit)
      position += 1
    }
    return out
  }
}

/// Appends bits MSB-first into bytes.
struct BitWriter {
  var bytes: [UInt8] = []
  var bitCount = 0
  mutating func write(_ value: UInt32, bits n: Int) {
    for k in stride(from: n - 1, through: 0, by: -1) {
      if bitCount & 7 == 0 { bytes.append(0) }
      if (value >> UInt32(k)) & 1 == 1 { bytes[bytes.count - 1] |= 1 << (7 - UInt8(bitCount & 7)) }
      bitCount += 1
    }
  }
}

/// Bits of `bytes`, MSB first, as 0/1.
public func bitsOf(_ bytes: [UInt8]) -> [UInt8] {
  var out: [UInt8] = []
  out.reserveCapacity(bytes.count * 8)
  for b in bytes { for k in stride(from: 7, through: 0, by: -1) { out.append((b >> UInt8(k)) & 1) } }
  return out
}

/// Bytes from bits (MSB first); a short tail is padded with zeros.
public func bytesOf(_ bits: [UInt8]) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
  for (i, b) in bits.enumerated() where b != 0 { out[i >> 3] |= 1 << (7 - UInt8(i & 7)) }
  return out
}
