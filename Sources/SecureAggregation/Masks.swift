import Crypto
import Foundation
import _CryptoExtras

/// The cryptographic pieces of secure aggregation, each one standard construction so anyone can
/// recompute them (the tests do, with Python's `cryptography`):
///
/// - key agreement: X25519 (RFC 7748);
/// - a pairwise seed and a share-encryption key: HKDF-SHA256 (RFC 5869) of the X25519 shared
///   secret, empty salt, info `byzsim-secagg/1 mask round R` or `… shares round R`, 32 bytes;
/// - the pseudorandom generator: the AES-256-CTR keystream of a 32-byte seed from the counter
///   block 0⁹⁶ ‖ 2 (equal to AES-256-GCM's ciphertext of zero bytes under a zero 96-bit nonce,
///   which is how the tests recompute it), read as little-endian UInt64s;
/// - share encryption: AES-256-GCM with a random nonce, the sender and recipient ids and the
///   round as associated data.
public enum SecAggCrypto {
  public static func info(_ purpose: String, round: Int) -> Data { Data("byzsim-secagg/1 \(purpose) round \(round)".utf8) }

  /// HKDF-SHA256 of the X25519 agreement of `own` and `peer`.
  public static func agree(
    _ own: Curve25519.KeyAgreement.PrivateKey, _ peer: Curve25519.KeyAgreement.PublicKey, purpose: String, round: Int
  ) throws -> [UInt8] {
    let shared: SharedSecret
    do { shared = try own.sharedSecretFromKeyAgreement(with: peer) } catch {
      throw SecureAggregationError("key agreement failed (a degenerate public key?): \(error)")
    }
    let key = shared.hkdfDerivedSymmetricKey(
      using: SHA256.self, salt: Data(), sharedInfo: info(purpose, round: round), outputByteCount: 32)
    return key.withUnsafeBytes { Array($0) }
  }

  /// `count` pseudorandom ring elements from a 32-byte seed: the AES-256-CTR keystream from the
  /// counter block 0⁹⁶ ‖ 2 — byte for byte AES-GCM's ciphertext of zeros under a zero nonce.
  public static func prg(seed: [UInt8], count: Int) -> [UInt64] {
    var out = [UInt64](repeating: 0, count: count)
    addMask(&out, seed: seed, sign: 1)
    return out
  }

  /// Adds (sign +1) or subtracts (−1) `prg(seed)` into `vector`, in the ring Z/2⁶⁴.
  public static func addMask(_ vector: inout [UInt64], seed: [UInt8], sign: Int) {
    precondition(seed.count == 32, "a PRG seed is 32 bytes")
    if vector.isEmpty { return }
    let stream: Data
    do {
      let nonce = try AES._CTR.Nonce(nonceBytes: [UInt8](repeating: 0, count: 15) + [2])
      stream = try AES._CTR.encrypt(Data(count: vector.count * 8), using: SymmetricKey(data: seed), nonce: nonce)
    } catch {
      // A 32-byte key and a 16-byte counter block are always valid.
      preconditionFailure("AES-CTR refused a 32-byte key: \(error)")
    }
    stream.withUnsafeBytes { raw in
      vector.withUnsafeMutableBufferPointer { v in
        if sign > 0 {
          for i in v.indices { v[i] &+= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        } else {
          for i in v.indices { v[i] &-= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        }
      }
    }
  }

  static func aad(from u: Int, to v: Int, round: Int) -> Data { Data("byzsim-secagg/1 shares \(u)->\(v) round \(round)".utf8) }

  public static func seal(_ plaintext: [UInt8], key: [UInt8], from u: Int, to v: Int, round: Int) throws -> [UInt8] {
    let box = try AES.GCM.seal(Data(plaintext), using: SymmetricKey(data: key), authenticating: aad(from: u, to: v, round: round))
    guard let combined = box.combined else { throw SecureAggregationError("AES-GCM gave no combined box") }
    return Array(combined)
  }

  public static func open(_ ciphertext: [UInt8], key: [UInt8], from u: Int, to v: Int, round: Int) throws -> [UInt8] {
    do {
      let box = try AES.GCM.SealedBox(combined: Data(ciphertext))
      return Array(try AES.GCM.open(box, using: SymmetricKey(data: key), authenticating: aad(from: u, to: v, round: round)))
    } catch {
      throw SecureAggregationError("the shares from participant \(u) do not decrypt (tampered, or not meant for \(v) in round \(round))")
    }
  }
}

/// Fixed-point encoding of updates in the ring Z/2⁶⁴: a participant submits round(w · x · 2²⁴)
/// per coordinate (w its sample count, so the sum is the sample-weighted sum), clamped to
/// ±2^(38 − ⌈log₂ n⌉) for n participants so that their sum cannot wrap the two's-complement ring
/// (NaN encodes as 0: a participant's own sanity, the coordinator cannot check it).
public enum FixedPoint {
  public static let fractionBits = 24

  public static func limit(participants n: Int) -> Double {
    let bits = Int.bitWidth - max(n - 1, 0).leadingZeroBitCount  // ⌈log₂ n⌉
    return Double(sign: .plus, exponent: 62 - fractionBits - bits, significand: 1)
  }

  public static func encode(_ x: [Float], weight: Double, participants: Int) -> [UInt64] {
    let scale = Double(1 << fractionBits)
    let limit = limit(participants: participants)
    return x.map { v in
      let w = Double(v) * weight
      let clamped = w.isNaN ? 0 : min(max(w, -limit), limit)
      return UInt64(bitPattern: Int64((clamped * scale).rounded()))
    }
  }

  /// The sum as real numbers, divided by `divisor`.
  public static func decode(_ sum: [UInt64], divisor: Double) -> [Float] {
    let scale = Double(1 << fractionBits)
    return sum.map { Float(Double(Int64(bitPattern: $0)) / scale / divisor) }
  }
}
