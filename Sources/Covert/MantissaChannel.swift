import Plugins
/// Covert channel (a): mantissa steganography.
///
/// A compromised worker that otherwise trains honestly hides bytes of its own training images
/// in the low `bits` mantissa bits of every float of the update it sends; an eavesdropper on
/// the wire (who sees the frames only if they travel in clear) reads them back. Each update
/// carries one self-describing chunk, so the receiver needs no state and no knowledge of who
/// the sender is:
///
///     magic "BZC1" (4) | offset UInt64 LE (8) | length UInt32 LE (4) | FNV-1a 32 of data (4) | data
///
/// `offset` is the chunk's position in the secret (the worker's shard pixels, image after
/// image); round r carries secret[(r·capacity) mod |secret| ...], wrapping around.
///
/// The change to each float is below 2^(bits−23) of its magnitude (k = 8: < 0.4‰), so the
/// update's direction and the model's accuracy are essentially untouched — the point of the
/// channel. What does defeat it: CURVE on the wire (the eavesdropper sees ciphertext), and the
/// mantissa χ² auditor (image bytes are far from uniform low bits). Coordinator-side
/// sanitisation (`Mantissa.sanitize`) removes the hidden bits from everything downstream of
/// the coordinator, but cannot un-send what already crossed the wire.
public struct MantissaChannel: Sendable {
  public static let magic: [UInt8] = Array("BZC1".utf8)
  public static let headerSize = 20
  public let bits: Int

  public init(bits: Int) throws {
    guard (1...16).contains(bits) else { throw CovertError("mantissa: bits must be in 1...16 (of 23 mantissa bits), got \(bits)") }
    self.bits = bits
  }

  /// Secret bytes one update of `floats` values carries.
  public func payloadCapacity(floats: Int) -> Int { max(0, Mantissa.capacity(values: floats, bits: bits) - Self.headerSize) }

  /// The offset in the secret of the chunk round `round` carries.
  public func offset(round: Int, floats: Int, secretCount: Int) -> Int {
    secretCount == 0 ? 0 : Int((UInt64(round) &* UInt64(payloadCapacity(floats: floats))) % UInt64(secretCount))
  }

  /// Hides round `round`'s chunk of `secret` in `update`; returns the chunk's offset and length.
  @discardableResult
  public func send(secret: [UInt8], round: Int, into update: inout [Float]) -> (offset: Int, length: Int) {
    let length = min(payloadCapacity(floats: update.count), secret.count)
    guard length > 0 else { return (0, 0) }
    let start = offset(round: round, floats: update.count, secretCount: secret.count)
    var data = [UInt8](repeating: 0, count: length)
    for i in 0..<length { data[i] = secret[(start + i) % secret.count] }
    var message = Self.magic
    message += withUnsafeBytes(of: UInt64(start).littleEndian, Array.init)
    message += withUnsafeBytes(of: UInt32(length).littleEndian, Array.init)
    message += withUnsafeBytes(of: fnv1a(data).littleEndian, Array.init)
    message += data
    Mantissa.embed(message, into: &update, bits: bits)
    return (start, length)
  }

  /// The chunk hidden in `values`, if they carry a well-formed one (magic, a length that fits,
  /// a matching checksum); nil otherwise — e.g. an honest update, or a sanitised one.
  public func receive<C: Collection>(_ values: C) -> (offset: Int, data: [UInt8])? where C.Element == Float {
    let header = Mantissa.extract(values, bits: bits, count: Self.headerSize)
    guard header.count == Self.headerSize, Array(header[0..<4]) == Self.magic else { return nil }
    func le<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T {
      var v: T = 0
      for k in 0..<MemoryLayout<T>.size { v |= T(header[at + k]) << (8 * k) }
      return v
    }
    let offset = le(4, UInt64.self), length = Int(le(12, UInt32.self)), sum = le(16, UInt32.self)
    guard length <= payloadCapacity(floats: values.count), offset <= UInt64(Int.max) else { return nil }
    let all = Mantissa.extract(values, bits: bits, count: Self.headerSize + length)
    let data = Array(all[Self.headerSize...])
    guard fnv1a(data) == sum else { return nil }
    return (Int(offset), data)
  }
}

/// FNV-1a, 32-bit (Fowler–Noll–Vo): the chunk checksum. Worked example: fnv1a("a") = 0xE40C292C.
public func fnv1a(_ bytes: [UInt8]) -> UInt32 {
  var h: UInt32 = 0x811C_9DC5
  for b in bytes { h = (h ^ UInt32(b)) &* 0x0100_0193 }
  return h
}

public struct CovertError: PluginFailure, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
