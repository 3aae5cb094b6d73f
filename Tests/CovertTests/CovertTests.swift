import Foundation
import Testing
@testable import Covert
import Tensor

@Suite struct MantissaTests {
  /// Hand-worked: 1.0 is 0x3F800000; 0xAB written 4 bits per float gives low nibbles A, B.
  @Test func embedWritesMSBFirstIntoLowBits() {
    var v: [Float] = [1, 1, 1]
    Mantissa.embed([0xAB], into: &v, bits: 4)
    #expect(v.map(\.bitPattern) == [0x3F80_000A, 0x3F80_000B, 0x3F80_0000])
    #expect(Mantissa.extract(v, bits: 4, count: 1) == [0xAB])
    // 3 bits per float: 101|010|11 → the last float holds 11 in its top two bits of the field (110).
    var w: [Float] = [1, 1, 1]
    Mantissa.embed([0xAB], into: &w, bits: 3)
    #expect(w.map { $0.bitPattern & 7 } == [0b101, 0b010, 0b110])
    #expect(Mantissa.extract(w, bits: 3, count: 1) == [0xAB])
  }

  /// Hand-worked rounding to `keep` mantissa bits, ties to even.
  @Test func sanitizeRoundsToNearestEven() {
    var v: [Float] = [1.25, 1.75, 1.5, -1.25, .nan, .infinity]
    Mantissa.sanitize(&v, keep: 1)
    #expect(v[0] == 1.0)  // 1.01b → 1.0b (below half)
    #expect(v[1] == 2.0)  // 1.11b → 10.0b (above half: carries into the exponent)
    #expect(v[2] == 1.5)  // exact
    #expect(v[3] == -1.0)
    #expect(v[4].isNaN && v[5] == .infinity)
    var t: [Float] = [1.375, 1.125]  // 1.011b, 1.001b at keep = 2: ties → even
    Mantissa.sanitize(&t, keep: 2)
    #expect(t == [1.5, 1.0])
    var big: [Float] = [.greatestFiniteMagnitude]
    Mantissa.sanitize(&big, keep: 0)
    #expect(big[0].isFinite)  // would round to +∞: truncated instead
    var same: [Float] = [0.1, 3.3]
    Mantissa.sanitize(&same, keep: 23)
    #expect(same == [0.1, 3.3])
  }

  @Test func fnvTestVectors() {
    #expect(fnv1a([]) == 0x811C_9DC5)
    #expect(fnv1a(Array("a".utf8)) == 0xE40C_292C)
    #expect(fnv1a(Array("foobar".utf8)) == 0xBF9C_F968)
  }

  @Test func channelRoundTripsAndRejectsHonestOrSanitisedUpdates() throws {
    let ch = try MantissaChannel(bits: 8)
    var rng = RandomStream(seed: 3, purpose: .noise)
    let honest = (0..<1000).map { _ in Float(rng.nextNormal() * 0.01) }
    let secret = (0..<2500).map { UInt8(truncatingIfNeeded: $0 * 7) }
    #expect(ch.payloadCapacity(floats: 1000) == 980)
    var u = honest
    let (offset, length) = ch.send(secret: secret, round: 2, into: &u)
    #expect(offset == 1960 && length == 980)
    let got = try #require(ch.receive(u))
    #expect(got.offset == 1960)
    #expect(got.data == (0..<980).map { secret[(1960 + $0) % 2500] })  // wraps past the end
    // Each value moved by less than 2^(8−23) of its magnitude.
    for (a, b) in zip(honest, u) where a != 0 { #expect(abs(a - b) / abs(a) < 1.0 / 32768) }
    #expect(ch.receive(honest) == nil)
    var s = u
    Mantissa.sanitize(&s, keep: 10)
    #expect(ch.receive(s) == nil)
    // A flipped data bit breaks the checksum.
    var corrupt = u
    corrupt[500] = Float(bitPattern: corrupt[500].bitPattern ^ 1)
    #expect(ch.receive(corrupt) == nil)
    #expect(throws: CovertError.self) { try MantissaChannel(bits: 0) }
  }
}

@Suite struct ParameterEncodingTests {
  /// The worked example of `SignEncoding`'s doc comment, by hand.
  @Test func signEncodingWorkedExample() {
    let e = SignEncoding(bits: [1, 1, 0, 0], lambda: 2)
    let theta: [Float] = [0.5, -0.2, 0.1, -0.3]
    theta.withUnsafeBufferPointer { t in
      #expect(abs(e.penalty(t) - 0.15) < 1e-7)
      var g = [Float](repeating: 0, count: 4)
      g.withUnsafeMutableBufferPointer { e.addGradient(t, to: $0) }
      #expect(g == [0, -0.5, 0.5, 0])
    }
    #expect(SignEncoding.decode(theta, count: 4) == [1, 0, 1, 0])
  }

  /// ρ((1,2,3), (0,0,3)) = 3/√12 by hand; ∂ρ/∂θ = (1/√12)(b) − (ρ/2)(a) = (0.1443, −0.2887, 0.1443).
  @Test func correlatedValueWorkedExample() throws {
    let e = try CorrelatedValueEncoding(secret: [0, 0, 3], lambda: 1)
    let theta: [Float] = [1, 2, 3]
    try theta.withUnsafeBufferPointer { t in
      #expect(abs(e.penalty(t) + 3 / 12.0.squareRoot()) < 1e-9)
      var g = [Float](repeating: 0, count: 3)
      g.withUnsafeMutableBufferPointer { e.addGradient(t, to: $0) }
      let expected = [-0.144338, 0.288675, -0.144338]
      for (a, b) in zip(g, expected) { #expect(abs(Double(a) - b) < 1e-5) }
      _ = try #require(g.first)
    }
    #expect(throws: CovertError.self) { try CorrelatedValueEncoding(secret: [4, 4, 4], lambda: 1) }
  }

  /// Central differences of the penalty (in Double) against the analytic gradient, for a
  /// negatively correlated θ (the |ρ| branch).
  @Test func correlatedValueGradientMatchesFiniteDifferences() throws {
    var rng = RandomStream(seed: 9, purpose: .noise)
    let secret = (0..<40).map { _ in UInt8(rng.nextInt(below: 256)) }
    let e = try CorrelatedValueEncoding(secret: secret, lambda: 3)
    var theta = secret.map { -Float($0) / 100 + Float(rng.nextNormal()) }
    var g = [Float](repeating: 0, count: 40)
    theta.withUnsafeBufferPointer { t in g.withUnsafeMutableBufferPointer { e.addGradient(t, to: $0) } }
    for j in [0, 7, 19, 39] {
      let h: Float = 1e-2
      let x = theta[j]
      theta[j] = x + h; let up = theta.withUnsafeBufferPointer { e.penalty($0) }
      theta[j] = x - h; let down = theta.withUnsafeBufferPointer { e.penalty($0) }
      theta[j] = x
      let numeric = (up - down) / Double(2 * h)
      #expect(abs(numeric - Double(g[j])) < 1e-3 * max(1, abs(numeric)), "j=\(j): \(numeric) vs \(g[j])")
    }
  }

  @Test func correlatedValueDecodesEitherOrientation() {
    // Mostly dark pixels, as in Fashion-MNIST; θ an affine image of them (either sign).
    var pixels = [UInt8](repeating: 0, count: 300)
    for i in 0..<100 { pixels[i * 3] = UInt8(i * 255 / 99) }
    let up = pixels.map { Float($0) * 0.004 - 0.3 }
    let down = pixels.map { -Float($0) * 0.004 + 0.2 }
    #expect(meanAbsolutePixelError(CorrelatedValueEncoding.decode(up, count: 300), pixels) < 3)
    #expect(meanAbsolutePixelError(CorrelatedValueEncoding.decode(down, count: 300), pixels) < 3)
  }

  @Test func meanAbsolutePixelErrorByHand() {
    #expect(meanAbsolutePixelError([0, 10, 255], [5, 10, 250]) == 10.0 / 3)
  }
}

@Suite struct CapacityAbuseTests {
  @Test func labelsCarryBitsByHand() throws {
    let c = try CapacityAbuse(inputs: 2, classes: 10, pixelsPerInput: 4, seed: 1, worker: 0)
    #expect(c.bitsPerLabel == 3)
    #expect(c.labels(encoding: [1, 0, 1, 0, 1, 1]) == [5, 3])
    #expect(c.bits(decoding: [5, 3]) == [1, 0, 1, 0, 1, 1])
    #expect(c.labels(encoding: [1]) == [4, 0])  // zero-padded tail
    #expect(try CapacityAbuse(inputs: 1, classes: 2, pixelsPerInput: 1, seed: 1, worker: 0).bitsPerLabel == 1)
    #expect(try CapacityAbuse(inputs: 1, classes: 16, pixelsPerInput: 1, seed: 1, worker: 0).bitsPerLabel == 4)
  }

  @Test func syntheticInputsAreReproducibleAndPerWorker() throws {
    let a = try CapacityAbuse(inputs: 5, classes: 10, pixelsPerInput: 784, seed: 7, worker: 2)
    let b = try CapacityAbuse(inputs: 5, classes: 10, pixelsPerInput: 784, seed: 7, worker: 2)
    let c = try CapacityAbuse(inputs: 5, classes: 10, pixelsPerInput: 784, seed: 7, worker: 3)
    #expect(a.syntheticPixels() == b.syntheticPixels())
    #expect(a.syntheticPixels() != c.syntheticPixels())
    #expect(a.syntheticPixels().count == 5 * 784)
    #expect(throws: CovertError.self) { try CapacityAbuse(inputs: 0, classes: 10, pixelsPerInput: 1, seed: 1, worker: 0) }
  }

  @Test func whiteningIsItsOwnInverseAndBalancesZeros() throws {
    let c = try CapacityAbuse(inputs: 10, classes: 10, pixelsPerInput: 1, seed: 4, worker: 1)
    let zeros = [UInt8](repeating: 0, count: 4000)
    let w = c.whiten(zeros)
    #expect(c.whiten(w) == zeros)
    let ones = bitsOf(w).filter { $0 == 1 }.count
    #expect(abs(Double(ones) / 32000 - 0.5) < 0.02)  // all-zero bytes become balanced bits
  }

  @Test func registryFillsDefaultsAndRejectsUnknowns() throws {
    #expect(try CovertRegistry.resolve("mantissa", [:]) == ["bits": 8])
    #expect(try CovertRegistry.resolve("sign_encoding", ["lambda": 3])["lambda"] == 3)
    #expect(throws: CovertError.self) { try CovertRegistry.resolve("morse", [:]) }
    #expect(throws: CovertError.self) { try CovertRegistry.resolve("mantissa", ["bitz": 2]) }
    #expect(throws: CovertError.self) { try CovertRegistry.resolve("mantissa", ["bits": 20]) }
    #expect(throws: CovertError.self) { try CovertRegistry.resolve("sign_encoding", ["lambda": -1]) }
  }

  @Test func bitHelpersRoundTrip() {
    #expect(bitsOf([0xA5]) == [1, 0, 1, 0, 0, 1, 0, 1])
    #expect(bytesOf([1, 0, 1, 0, 0, 1, 0, 1, 1]) == [0xA5, 0x80])
  }
}
