import Crypto
import Foundation

/// The server's side of one round of `SecureAggregation`: it relays, and in the end learns only
/// Σ_{u∈U3} x_u. Every message is checked (shape, sender, phase); a bad one is refused with the
/// reason and its sender treated as dropped.
public struct SecureAggregationServer {
  public let round: Int
  public let dimension: Int
  /// Requested threshold; the roster's is max(this, more than half of U1).
  let requestedThreshold: Int?
  public private(set) var keys: [Int: SecureAggregation.PublicKeys] = [:]
  public private(set) var threshold = 0
  /// Ciphertexts by sender, then by recipient.
  var ciphertexts: [Int: [Int: [UInt8]]] = [:]
  public private(set) var masked: [Int: [UInt64]] = [:]
  var survivors: [Int] = []
  var reveals: [Int: [Int: (SecureAggregation.Revealed, Shamir.Share)]] = [:]

  public init(round: Int, dimension: Int, threshold: Int? = nil) {
    self.round = round; self.dimension = dimension; requestedThreshold = threshold
  }

  public var u1: [Int] { keys.keys.sorted() }
  public var u2: [Int] { ciphertexts.keys.sorted() }
  public var u3: [Int] { survivors }

  // MARK: Round 0

  public mutating func receiveAdvertisement(from u: Int, _ bytes: [UInt8]) throws {
    guard threshold == 0 else { throw SecureAggregationError("keys from \(u) after the roster was sent") }
    guard keys[u] == nil else { throw SecureAggregationError("participant \(u) advertised keys twice") }
    let k = try SecureAggregation.decodeAdvertisement(bytes)
    _ = try SecureAggregation.publicKey(k.encryption, of: u)
    _ = try SecureAggregation.publicKey(k.masking, of: u)
    keys[u] = k
  }

  /// Closes Round 0: the roster for every participant of U1, or an error when fewer than the
  /// threshold advertised.
  public mutating func roster() throws -> [UInt8] {
    let t = max(requestedThreshold ?? 0, SecureAggregation.minimumThreshold(keys.count))
    guard keys.count >= max(t, 2) else {
      throw SecureAggregationError("only \(keys.count) participants advertised keys; secure aggregation needs at least \(max(t, 2))")
    }
    threshold = t
    return SecureAggregation.encodeRoster(keys, threshold: t)
  }

  // MARK: Round 1

  public mutating func receiveShares(from u: Int, _ bytes: [UInt8]) throws {
    guard threshold > 0, keys[u] != nil else { throw SecureAggregationError("shares from \(u), who is not in the roster") }
    guard ciphertexts[u] == nil else { throw SecureAggregationError("participant \(u) sent its shares twice") }
    let c = try SecureAggregation.decodeCiphertexts(bytes)
    guard Set(c.keys) == Set(keys.keys).subtracting([u]) else {
      throw SecureAggregationError("participant \(u) sent shares for \(c.count) peers, not for every other participant of the roster")
    }
    ciphertexts[u] = c
  }

  /// Closes Round 1: what to forward to `v` (the ciphertexts addressed to it from U2).
  public func forwarded(to v: Int) throws -> [UInt8] {
    guard ciphertexts.count >= threshold else {
      throw SecureAggregationError("only \(ciphertexts.count) participants shared their keys, below the threshold \(threshold)")
    }
    var out: [Int: [UInt8]] = [:]
    for (u, c) in ciphertexts where u != v { out[u] = c[v] }
    return SecureAggregation.encodeCiphertexts(out)
  }

  // MARK: Round 2

  public mutating func receiveMasked(from u: Int, _ bytes: [UInt8]) throws {
    guard ciphertexts[u] != nil else { throw SecureAggregationError("a masked input from \(u), who did not share its keys") }
    guard survivors.isEmpty else { throw SecureAggregationError("a masked input from \(u) after the survivors were named") }
    guard masked[u] == nil else { throw SecureAggregationError("participant \(u) sent its masked input twice") }
    masked[u] = try SecureAggregation.decodeVector(bytes, count: dimension)
  }

  /// Closes Round 2: the survivors U3, for every one of them.
  public mutating func survivorList() throws -> [UInt8] {
    guard masked.count >= threshold else {
      throw SecureAggregationError("only \(masked.count) masked inputs arrived, below the threshold \(threshold)")
    }
    survivors = masked.keys.sorted()
    return SecureAggregation.encodeIDs(survivors)
  }

  // MARK: Round 4

  public mutating func receiveReveal(from u: Int, _ bytes: [UInt8]) throws {
    guard survivors.contains(u) else { throw SecureAggregationError("a reveal from \(u), who is not a survivor") }
    guard reveals[u] == nil else { throw SecureAggregationError("participant \(u) revealed twice") }
    var r = ByteReader(bytes, what: "a reveal")
    var got: [Int: (SecureAggregation.Revealed, Shamir.Share)] = [:]
    let survivorSet = Set(survivors)
    for _ in 0..<(try r.count(itemSize: 45)) {
      let v = try r.u32()
      guard let kind = SecureAggregation.Revealed(rawValue: try r.raw(1)[0]) else {
        throw SecureAggregationError("a reveal from \(u) of an unknown kind")
      }
      guard ciphertexts[v] != nil, got[v] == nil, kind == (survivorSet.contains(v) ? .selfMaskSeed : .maskingKey) else {
        throw SecureAggregationError("participant \(u) revealed the wrong secret about \(v)")
      }
      got[v] = (kind, try SecureAggregation.decodeShare(&r, x: SecureAggregation.x(u)))
    }
    try r.end()
    guard got.count == ciphertexts.count else {
      throw SecureAggregationError("participant \(u) revealed about \(got.count) of \(ciphertexts.count)")
    }
    reveals[u] = got
  }

  public var revealCount: Int { reveals.count }

  /// Closes Round 4: Σ_{u∈U3} x_u in the ring, from the masked inputs and at least t reveals.
  public func sum() throws -> [UInt64] {
    guard reveals.count >= threshold else {
      throw SecureAggregationError("only \(reveals.count) participants revealed, below the threshold \(threshold)")
    }
    var z = [UInt64](repeating: 0, count: dimension)
    for u in survivors { for i in z.indices { z[i] &+= masked[u]![i] } }
    func shares(of v: Int) -> [Shamir.Share] { reveals.values.map { $0[v]!.1 } }
    for u in survivors {
      SecAggCrypto.addMask(&z, seed: try Shamir.recover(shares(of: u), byteCount: 32), sign: -1)
    }
    for v in u2 where !survivors.contains(v) {
      let raw = try Shamir.recover(shares(of: v), byteCount: 32)
      let key: Curve25519.KeyAgreement.PrivateKey
      do { key = try .init(rawRepresentation: raw) } catch { throw SecureAggregationError("participant \(v)'s rebuilt key is not a key") }
      guard Array(key.publicKey.rawRepresentation) == keys[v]!.masking else {
        throw SecureAggregationError("participant \(v)'s rebuilt masking key does not match its advertised key (corrupt shares)")
      }
      // u's input carries +PRG(s_u,v) if u < v and −PRG otherwise: remove it.
      for u in survivors {
        let seed = try SecAggCrypto.agree(key, try SecureAggregation.publicKey(keys[u]!.masking, of: u), purpose: "mask", round: round)
        SecAggCrypto.addMask(&z, seed: seed, sign: u < v ? -1 : 1)
      }
    }
    return z
  }
}
