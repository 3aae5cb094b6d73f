import Crypto
import Foundation

/// One participant's side of one round of `SecureAggregation` (fresh keys per instance). Each
/// step checks what the server sent before using it and throws — the participant then drops out
/// of the round — rather than reveal anything the protocol does not allow.
public final class SecureAggregationClient {
  public let id: Int
  public let round: Int
  let encryptionKey = Curve25519.KeyAgreement.PrivateKey()
  let maskingKey = Curve25519.KeyAgreement.PrivateKey()
  /// b_u, the self-mask seed.
  let selfMaskSeed: [UInt8]
  var roster: [Int: SecureAggregation.PublicKeys] = [:]
  var threshold = 0
  /// U2 as this participant saw it (senders of forwarded shares, and itself).
  var sharers: [Int] = []
  /// The shares others gave this participant: (of s^SK, of b), by their owner.
  var held: [Int: (masking: Shamir.Share, seed: Shamir.Share)] = [:]
  var revealed = false

  public init(id: Int, round: Int) {
    self.id = id; self.round = round
    var g = SystemRandomNumberGenerator()
    selfMaskSeed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
  }

  /// Round 0: c_u^PK ‖ s_u^PK.
  public var advertisement: [UInt8] {
    Array(encryptionKey.publicKey.rawRepresentation) + Array(maskingKey.publicKey.rawRepresentation)
  }

  /// Round 1: reads the roster U1 and the threshold, shares s_u^SK and b_u among U1, and returns
  /// the ciphertexts for the server to forward.
  public func shareKeys(roster bytes: [UInt8]) throws -> [UInt8] {
    let (t, keys) = try SecureAggregation.decodeRoster(bytes)
    guard let own = keys[id], own.encryption == Array(encryptionKey.publicKey.rawRepresentation),
      own.masking == Array(maskingKey.publicKey.rawRepresentation)
    else { throw SecureAggregationError("the roster does not hold this participant's keys") }
    guard t >= SecureAggregation.minimumThreshold(keys.count), t <= keys.count else {
      throw SecureAggregationError("threshold \(t) for \(keys.count) participants: must be more than half and at most all")
    }
    let all = keys.values.flatMap { [$0.encryption, $0.masking] }
    guard Set(all).count == all.count else { throw SecureAggregationError("two advertised public keys are equal") }
    roster = keys; threshold = t
    var g = SystemRandomNumberGenerator()
    let ids = keys.keys.sorted()
    let xs = ids.map(SecureAggregation.x)
    let sShares = Shamir.split(Array(maskingKey.rawRepresentation), threshold: t, xs: xs, using: &g)
    let bShares = Shamir.split(selfMaskSeed, threshold: t, xs: xs, using: &g)
    var out: [Int: [UInt8]] = [:]
    for (k, v) in ids.enumerated() {
      if v == id {
        held[id] = (sShares[k], bShares[k])
        continue
      }
      var w = ByteWriter()
      w.u32(id); w.u32(v)
      SecureAggregation.encodeShare(&w, sShares[k]); SecureAggregation.encodeShare(&w, bShares[k])
      let key = try SecAggCrypto.agree(
        encryptionKey, try SecureAggregation.publicKey(keys[v]!.encryption, of: v), purpose: "shares", round: round)
      out[v] = try SecAggCrypto.seal(w.bytes, key: key, from: id, to: v, round: round)
    }
    return SecureAggregation.encodeCiphertexts(out)
  }

  /// Round 2: decrypts the shares forwarded from U2 and masks `input` (already in the ring).
  public func maskedInput(forwarded bytes: [UInt8], input: [UInt64]) throws -> [UInt8] {
    guard threshold > 0 else { throw SecureAggregationError("shares were forwarded before a roster") }
    let cts = try SecureAggregation.decodeCiphertexts(bytes)
    guard cts.count + 1 >= threshold else {
      throw SecureAggregationError("only \(cts.count + 1) participants shared their keys, below the threshold \(threshold)")
    }
    for (u, ct) in cts {
      guard u != id, let keys = roster[u] else { throw SecureAggregationError("shares forwarded from \(u), who is not in the roster") }
      let key = try SecAggCrypto.agree(
        encryptionKey, try SecureAggregation.publicKey(keys.encryption, of: u), purpose: "shares", round: round)
      var r = ByteReader(try SecAggCrypto.open(ct, key: key, from: u, to: id, round: round), what: "the shares from \(u)")
      guard try r.u32() == u, try r.u32() == id else { throw SecureAggregationError("the shares from \(u) name other participants") }
      let x = SecureAggregation.x(id)
      held[u] = (try SecureAggregation.decodeShare(&r, x: x), try SecureAggregation.decodeShare(&r, x: x))
      try r.end()
    }
    sharers = (Array(cts.keys) + [id]).sorted()
    var y = input
    SecAggCrypto.addMask(&y, seed: selfMaskSeed, sign: 1)
    for v in sharers where v != id {
      let seed = try SecAggCrypto.agree(
        maskingKey, try SecureAggregation.publicKey(roster[v]!.masking, of: v), purpose: "mask", round: round)
      SecAggCrypto.addMask(&y, seed: seed, sign: id < v ? 1 : -1)
    }
    return SecureAggregation.encodeVector(y)
  }

  /// Round 4: given the survivors U3, reveals b_v's share for every survivor and s_v^SK's share
  /// for every participant of U2 that dropped — after checking U3 ⊆ U2, |U3| ≥ t and that this
  /// participant itself survived. Answers once per round.
  public func unmask(survivors bytes: [UInt8]) throws -> [UInt8] {
    guard !sharers.isEmpty else { throw SecureAggregationError("asked to unmask before masking") }
    guard !revealed else { throw SecureAggregationError("asked to unmask twice in one round") }
    let u3 = try SecureAggregation.decodeIDs(bytes)
    guard Set(u3).isSubset(of: sharers) else { throw SecureAggregationError("survivors that never shared their keys") }
    guard u3.contains(id) else { throw SecureAggregationError("this participant is not among the survivors") }
    guard u3.count >= threshold else { throw SecureAggregationError("\(u3.count) survivors, below the threshold \(threshold)") }
    revealed = true
    let survivors = Set(u3)
    var w = ByteWriter()
    w.u32(sharers.count)
    for v in sharers {
      w.u32(v)
      let kind: SecureAggregation.Revealed = survivors.contains(v) ? .selfMaskSeed : .maskingKey
      w.raw([kind.rawValue])
      SecureAggregation.encodeShare(&w, kind == .selfMaskSeed ? held[v]!.seed : held[v]!.masking)
    }
    return w.bytes
  }
}
