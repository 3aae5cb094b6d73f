import Crypto
import Foundation

/// Secure aggregation: Bonawitz, Ivanov, Kreuter, Marcedone, McMahan, Patel, Ramage, Segal &
/// Seth, "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017,
/// Figure 4 (the semi-honest protocol). One instance per round, fresh keys every time:
///
///     0 AdvertiseKeys   u → S: (c_u^PK, s_u^PK)               S → all of U1: the roster and t
///     1 ShareKeys       u → S: Enc_{c_u,v}(u, v, [s_u^SK]_v, [b_u]_v) for every v in U1
///                       S → v: the ciphertexts addressed to v from U2
///     2 MaskedInput     u → S: y_u = x_u + PRG(b_u) + Σ_{v∈U2, u<v} PRG(s_u,v) − Σ_{v∈U2, u>v} PRG(s_u,v)
///                       S → all of U3: the survivors U3
///     4 Unmasking       u → S: [s_v^SK]_u for v ∈ U2∖U3, [b_v]_u for v ∈ U3 (never both for one v)
///
/// and S recovers Σ_{u∈U3} x_u from any t reveals: it rebuilds b_u of the survivors and s_v^SK of
/// the dropped, and removes their masks. Variants (stated): Round 3 (ConsistencyCheck) and the
/// signatures belong to the actively secure version and are left out — the transport already
/// authenticates every participant (CURVE); shares use Shamir over GF(2⁶¹ − 1) in 7-byte
/// chunks; a rebuilt s_v^SK must match v's advertised s_v^PK, or the sum is refused.
public enum SecureAggregation {
  /// A participant's two advertised public keys.
  public struct PublicKeys: Sendable, Equatable {
    public var encryption: [UInt8]
    public var masking: [UInt8]
  }

  /// The smallest threshold the participants accept for a roster of n: more than half, so two
  /// disjoint groups can never both reconstruct.
  public static func minimumThreshold(_ n: Int) -> Int { n / 2 + 1 }

  // MARK: Message formats (little-endian)

  /// Advertisement: c^PK (32) ‖ s^PK (32).
  public static func decodeAdvertisement(_ b: [UInt8]) throws -> PublicKeys {
    var r = ByteReader(b, what: "an advertisement")
    let k = PublicKeys(encryption: try r.raw(32), masking: try r.raw(32))
    try r.end()
    return k
  }

  /// Roster: t (u32) ‖ n (u32) ‖ n × (id u32 ‖ c^PK ‖ s^PK), ids increasing.
  public static func encodeRoster(_ keys: [Int: PublicKeys], threshold: Int) -> [UInt8] {
    var w = ByteWriter()
    w.u32(threshold); w.u32(keys.count)
    for id in keys.keys.sorted() { w.u32(id); w.raw(keys[id]!.encryption); w.raw(keys[id]!.masking) }
    return w.bytes
  }

  public static func decodeRoster(_ b: [UInt8]) throws -> (threshold: Int, keys: [Int: PublicKeys]) {
    var r = ByteReader(b, what: "a roster")
    let t = try r.u32()
    var keys: [Int: PublicKeys] = [:]
    var last = -1
    for _ in 0..<(try r.count(itemSize: 68)) {
      let id = try r.u32()
      guard id > last else { throw SecureAggregationError("a roster whose ids are not increasing") }
      last = id
      keys[id] = PublicKeys(encryption: try r.raw(32), masking: try r.raw(32))
    }
    try r.end()
    return (t, keys)
  }

  /// Ciphertexts by peer: n (u32) ‖ n × (peer u32 ‖ length u32 ‖ bytes), peers increasing.
  public static func encodeCiphertexts(_ c: [Int: [UInt8]]) -> [UInt8] {
    var w = ByteWriter()
    w.u32(c.count)
    for id in c.keys.sorted() { w.u32(id); w.u32(c[id]!.count); w.raw(c[id]!) }
    return w.bytes
  }

  public static func decodeCiphertexts(_ b: [UInt8]) throws -> [Int: [UInt8]] {
    var r = ByteReader(b, what: "a set of encrypted shares")
    var c: [Int: [UInt8]] = [:]
    var last = -1
    for _ in 0..<(try r.count(itemSize: 8)) {
      let id = try r.u32()
      guard id > last else { throw SecureAggregationError("encrypted shares whose peers are not increasing") }
      last = id
      c[id] = try r.raw(try r.u32())
    }
    try r.end()
    return c
  }

  /// Ids: n (u32) ‖ n × id (u32), increasing.
  public static func encodeIDs(_ ids: [Int]) -> [UInt8] {
    var w = ByteWriter()
    w.u32(ids.count)
    for id in ids.sorted() { w.u32(id) }
    return w.bytes
  }

  public static func decodeIDs(_ b: [UInt8]) throws -> [Int] {
    var r = ByteReader(b, what: "a list of survivors")
    var ids: [Int] = []
    for _ in 0..<(try r.count(itemSize: 4)) {
      let id = try r.u32()
      guard id > (ids.last ?? -1) else { throw SecureAggregationError("a survivor list that is not increasing") }
      ids.append(id)
    }
    try r.end()
    return ids
  }

  /// A masked input: d × u64.
  public static func encodeVector(_ v: [UInt64]) -> [UInt8] {
    #if _endian(big)
    let v = v.map { $0.littleEndian }
    #endif
    return v.withUnsafeBytes { Array($0) }
  }

  public static func decodeVector(_ b: [UInt8], count: Int) throws -> [UInt64] {
    guard b.count == count * 8 else { throw SecureAggregationError("a masked input of \(b.count) bytes, expected \(count * 8)") }
    let v = [UInt64](unsafeUninitializedCapacity: count) { buf, n in
      b.withUnsafeBytes { UnsafeMutableRawBufferPointer(buf).copyMemory(from: $0) }
      n = count
    }
    #if _endian(big)
    return v.map { UInt64(littleEndian: $0) }
    #else
    return v
    #endif
  }

  /// What a participant reveals in Unmasking, by the participant it is about.
  public enum Revealed: UInt8, Sendable { case maskingKey = 0, selfMaskSeed = 1 }

  static let chunks = 5  // a 32-byte secret in 7-byte chunks

  static func encodeShare(_ w: inout ByteWriter, _ s: Shamir.Share) { for y in s.ys { w.u64(y) } }
  static func decodeShare(_ r: inout ByteReader, x: UInt64) throws -> Shamir.Share {
    Shamir.Share(x: x, ys: try (0..<chunks).map { _ in try r.u64() })
  }

  /// A participant's x in the sharing: its id + 1 (0 is the secret).
  static func x(_ id: Int) -> UInt64 { UInt64(id) + 1 }

  static func publicKey(_ bytes: [UInt8], of id: Int) throws -> Curve25519.KeyAgreement.PublicKey {
    do { return try Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes) } catch {
      throw SecureAggregationError("participant \(id) advertised a key that is not an X25519 public key")
    }
  }
}
