import Crypto
import Foundation
import TestSupport
import Testing

@testable import SecureAggregation

@Suite struct ShamirTests {
  /// The worked example of Wikipedia's "Shamir's secret sharing" article: secret 1234, t = 3,
  /// f(x) = 1234 + 166x + 94x², shares (1, 1494), (2, 1942), (3, 2578), (4, 3402), (5, 4414),
  /// (6, 5614) — small enough that arithmetic mod 2⁶¹ − 1 is plain arithmetic.
  @Test func worked() {
    let f: [UInt64] = [1234, 166, 94]
    #expect((1...6).map { Shamir.evaluate(f, at: UInt64($0)) } == [1494, 1942, 2578, 3402, 4414, 5614])
    #expect(Shamir.interpolate([(2, 1942), (4, 3402), (5, 4414)]) == 1234)
    #expect(Shamir.interpolate([(1, 1494), (3, 2578), (6, 5614)]) == 1234)
    // Two shares of a degree-2 polynomial interpolate a line, not the secret: (2,1942),(4,3402)
    // → 1942 − 2·(3402 − 1942)/2 = 482.
    #expect(Shamir.interpolate([(2, 1942), (4, 3402)]) == 482)
  }

  @Test func byteSecrets() throws {
    var g = SystemRandomNumberGenerator()
    let secret = (0..<32).map { UInt8($0 * 7 + 3) }
    let shares = Shamir.split(secret, threshold: 3, xs: [1, 2, 3, 4, 5], using: &g)
    #expect(shares.allSatisfy { $0.ys.count == 5 })
    for subset in [[0, 1, 2], [1, 3, 4], [0, 2, 4], [0, 1, 2, 3, 4]] {
      #expect(try Shamir.recover(subset.map { shares[$0] }, byteCount: 32) == secret)
    }
    // Corrupted or repeated shares never come back as the secret.
    var bad = shares[0]
    bad.ys[0] &+= 1
    #expect((try? Shamir.recover([bad, shares[1], shares[2]], byteCount: 32)) != secret)
    #expect(throws: SecureAggregationError.self) { try Shamir.recover([shares[0], shares[0], shares[1]], byteCount: 32) }
  }
}

@Suite struct SecureAggregationProtocolTests {
  /// Runs the four rounds for `inputs` (by id). `skipShares`, `skipMasked`, `skipReveal`: who
  /// drops before each step.
  func run(
    _ inputs: [Int: [UInt64]], threshold: Int? = nil, skipShares: Set<Int> = [], skipMasked: Set<Int> = [],
    skipReveal: Set<Int> = []
  ) throws -> (sum: [UInt64], server: SecureAggregationServer, masked: [Int: [UInt8]]) {
    let d = inputs.first!.value.count
    let clients = Dictionary(uniqueKeysWithValues: inputs.keys.map { ($0, SecureAggregationClient(id: $0, round: 7)) })
    var server = SecureAggregationServer(round: 7, dimension: d, threshold: threshold)
    for (id, c) in clients { try server.receiveAdvertisement(from: id, c.advertisement) }
    let roster = try server.roster()
    for (id, c) in clients where !skipShares.contains(id) { try server.receiveShares(from: id, try c.shareKeys(roster: roster)) }
    var masked: [Int: [UInt8]] = [:]
    for id in server.u2 where !skipMasked.contains(id) {
      masked[id] = try clients[id]!.maskedInput(forwarded: try server.forwarded(to: id), input: inputs[id]!)
      try server.receiveMasked(from: id, masked[id]!)
    }
    let survivors = try server.survivorList()
    for id in server.u3 where !skipReveal.contains(id) { try server.receiveReveal(from: id, try clients[id]!.unmask(survivors: survivors)) }
    return (try server.sum(), server, masked)
  }

  func inputs(_ n: Int, d: Int) -> [Int: [UInt64]] {
    var g = SystemRandomNumberGenerator()
    return Dictionary(
      uniqueKeysWithValues: (0..<n).map { id in (id * 3 + 1, (0..<d).map { _ in UInt64.random(in: 0...UInt64.max, using: &g) }) })
  }

  func plainSum(_ x: [Int: [UInt64]], of ids: [Int]) -> [UInt64] {
    var s = [UInt64](repeating: 0, count: x.first!.value.count)
    for id in ids { for i in s.indices { s[i] &+= x[id]![i] } }
    return s
  }

  @Test func everyoneSurvives() throws {
    let x = inputs(5, d: 33)
    let r = try run(x)
    #expect(r.sum == plainSum(x, of: Array(x.keys)))
    #expect(r.server.threshold == 3)
    // The server's view of one input is masked: (almost) no coordinate equals the input's.
    for (id, m) in r.masked {
      let y = try SecureAggregation.decodeVector(m, count: 33)
      #expect(zip(y, x[id]!).filter { $0 == $1 }.count <= 1)
    }
  }

  @Test func dropoutsAreRecovered() throws {
    let x = inputs(9, d: 17)
    let ids = x.keys.sorted()
    // t = 5 of 9. ids[1] never shares; ids[2] and ids[4] share but drop before masking (their
    // pairwise masks are rebuilt from their keys' shares); ids[5] drops before revealing.
    let r = try run(x, skipShares: [ids[1]], skipMasked: [ids[2], ids[4]], skipReveal: [ids[5]])
    #expect(r.server.threshold == 5)
    #expect(r.server.u2 == ids.filter { $0 != ids[1] })
    #expect(r.server.u3 == [ids[0], ids[3], ids[5], ids[6], ids[7], ids[8]])
    #expect(r.server.revealCount == 5)
    #expect(r.sum == plainSum(x, of: r.server.u3))
  }

  @Test func belowThresholdNothingIsRevealed() throws {
    let x = inputs(5, d: 4)
    let ids = x.keys.sorted()
    #expect(throws: SecureAggregationError.self) { try run(x, skipMasked: [ids[0], ids[1], ids[2]]) }
    #expect(throws: SecureAggregationError.self) { try run(x, skipReveal: [ids[0], ids[1], ids[2]]) }
    // A higher threshold than the default is honoured.
    #expect(throws: SecureAggregationError.self) { try run(x, threshold: 5, skipMasked: [ids[0]]) }
  }

  /// A server that lies is refused by the participants.
  @Test func participantsCheckTheServer() throws {
    let a = SecureAggregationClient(id: 0, round: 1), b = SecureAggregationClient(id: 1, round: 1)
    let c = SecureAggregationClient(id: 2, round: 1)
    var server = SecureAggregationServer(round: 1, dimension: 2)
    for (i, k) in [a, b, c].enumerated() { try server.receiveAdvertisement(from: i, k.advertisement) }
    let roster = try server.roster()
    // A threshold of 1 would let the server unmask a single input.
    var low = roster
    low[0] = 1
    #expect(throws: SecureAggregationError.self) { try a.shareKeys(roster: low) }
    // Truncated or trailing bytes.
    #expect(throws: SecureAggregationError.self) { try a.shareKeys(roster: Array(roster.dropLast())) }
    #expect(throws: SecureAggregationError.self) { try a.shareKeys(roster: roster + [0]) }
    for (i, k) in [a, b, c].enumerated() { try server.receiveShares(from: i, try k.shareKeys(roster: roster)) }
    // A ciphertext flipped in transit does not decrypt.
    var forwarded = try server.forwarded(to: 0)
    forwarded[forwarded.count - 1] ^= 1
    #expect(throws: SecureAggregationError.self) { try a.maskedInput(forwarded: forwarded, input: [1, 2]) }
    let ma = try a.maskedInput(forwarded: try server.forwarded(to: 0), input: [1, 2])
    _ = ma
    // Survivors naming someone unknown, or leaving this participant out, get no reveal.
    #expect(throws: SecureAggregationError.self) { try a.unmask(survivors: SecureAggregation.encodeIDs([0, 1, 9])) }
    #expect(throws: SecureAggregationError.self) { try a.unmask(survivors: SecureAggregation.encodeIDs([1, 2])) }
    _ = try a.unmask(survivors: SecureAggregation.encodeIDs([0, 1, 2]))
    // Never twice: a second survivor list (e.g. claiming 1 dropped) would reveal both secrets of 1.
    #expect(throws: SecureAggregationError.self) { try a.unmask(survivors: SecureAggregation.encodeIDs([0, 2])) }
  }

  @Test func fixedPoint() {
    let x: [Float] = [0.5, -0.25, 1e-3, 0, .nan, 1e30]
    let e = FixedPoint.encode(x, weight: 4, participants: 8)
    var sum = e
    for i in sum.indices { sum[i] &+= FixedPoint.encode([x[i]], weight: 2, participants: 8)[0] }
    let d = FixedPoint.decode(sum, divisor: 6)
    #expect(d[0] == 0.5 && d[1] == -0.25 && abs(d[2] - 1e-3) < 1e-7 && d[3] == 0 && d[4] == 0)
    // Clamped to 2^(38 − 3) per participant: the sum of eight cannot wrap.
    #expect(abs(Double(d[5]) - 2 * FixedPoint.limit(participants: 8) / 6) < 1e3)
    #expect(FixedPoint.limit(participants: 8) == Double(1 << 35))
  }
}

/// The PRG and key derivation recomputed with Python's `cryptography` (X25519, HKDF-SHA256,
/// AES-256-GCM over zeros), from the same private keys.
@Suite struct SecureAggregationReferenceTests {
  @Test func masksMatchCryptography() throws {
    let a = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: (0..<32).map { UInt8($0) })
    let b = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: (0..<32).map { UInt8(200 - $0) })
    let seed = try SecAggCrypto.agree(a, b.publicKey, purpose: "mask", round: 12)
    #expect(seed == (try SecAggCrypto.agree(b, a.publicKey, purpose: "mask", round: 12)))
    let mask = SecAggCrypto.prg(seed: seed, count: 10)
    let script = """
      from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
      from cryptography.hazmat.primitives.kdf.hkdf import HKDF
      from cryptography.hazmat.primitives import hashes
      from cryptography.hazmat.primitives.ciphers.aead import AESGCM
      a = X25519PrivateKey.from_private_bytes(bytes(range(32)))
      b = X25519PrivateKey.from_private_bytes(bytes(200 - i for i in range(32)))
      shared = a.exchange(b.public_key())
      seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"byzsim-secagg/1 mask round 12").derive(shared)
      stream = AESGCM(seed).encrypt(bytes(12), bytes(80), None)[:80]
      print(seed.hex())
      print(" ".join(str(int.from_bytes(stream[8*i:8*i+8], "little")) for i in range(10)))
      """
    let lines = try ReferencePython.run(["-c", script]).split(separator: "\n")
    #expect(String(lines[0]) == seed.map { String(format: "%02x", $0) }.joined())
    #expect(lines[1].split(separator: " ").map { UInt64($0)! } == mask)
  }
}
