import Testing
import Tensor
@testable import Transport

@Suite struct FrameCodecTests {
  let decoder = FrameDecoder(runID: 0x0102_0304_0506_0708, modelSize: 4, workerCount: 3)

  /// The header layout, written out byte by byte from the documented format.
  @Test func headerBytesMatchTheSpecification() {
    let h = FrameHeader(type: .update, dtype: .float32, runID: 0x0102_0304_0506_0708, round: 0x0A0B, sender: 2, count: 4, aux: 7)
    let expected: [UInt8] = [
      0x42, 0x5A, 0x53, 0x31,  // "BZS1"
      0x01, 0x00,  // version 1
      0x04, 0x01,  // update, float32
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // run id LE
      0x0B, 0x0A, 0x00, 0x00,  // round
      0x02, 0x00, 0x00, 0x00,  // sender
      0x04, 0x00, 0x00, 0x00,  // count
      0x07, 0x00, 0x00, 0x00,
    ]  // aux
    #expect(h.encoded() == expected)
    let payload: [Float] = [1, -2, 0.5, 3]
    let bytes = payload.withUnsafeBytes { Array($0) }
    guard case let .success(f) = decoder.decode([expected, bytes]) else { Issue.record("valid frame rejected"); return }
    #expect(f.header == h && f.payload == payload)
  }

  func header(_ t: FrameType, dtype: DType = .none, run: UInt64? = nil, sender: UInt32 = 1, count: UInt32 = 0, aux: UInt32 = 0) -> [UInt8] {
    FrameHeader(type: t, dtype: dtype, runID: run ?? decoder.runID, round: 1, sender: sender, count: count, aux: aux).encoded()
  }

  @Test func eachMalformationHasItsReason() {
    let good = [Float](repeating: 1, count: 4).withUnsafeBytes { Array($0) }
    var badMagic = header(.hello); badMagic[0] = 0x41
    var badVersion = header(.hello); badVersion[4] = 2
    var badType = header(.hello); badType[6] = 99
    var badDType = header(.hello); badDType[7] = 9
    let cases: [([[UInt8]], RejectReason)] = [
      ([], .frameCount),
      ([header(.hello), [], []], .frameCount),
      ([Array(header(.hello).prefix(31))], .headerLength),
      ([badMagic], .badMagic),
      ([badVersion], .unsupportedVersion),
      ([badType], .unknownType),
      ([badDType], .badDType),
      ([header(.hello, run: 9)], .wrongRunID),
      ([header(.hello, sender: 3)], .unknownSender),
      ([header(.update, dtype: .none, count: 4), good], .badDType),
      ([header(.update, dtype: .float32, count: 4)], .frameCount),
      ([header(.update, dtype: .float32, count: 5), good], .wrongLength),
      ([header(.update, dtype: .float32, count: 4), Array(good.dropLast())], .payloadLength),
      ([header(.heartbeat), good], .frameCount),
      ([header(.heartbeat, count: 3)], .reservedField),
      // Secure aggregation's byte payloads: bytes only, the count is the byte count, a masked
      // input is exactly 8 bytes per parameter, key messages are bounded by the worker count.
      ([header(.secAggAdvertise, dtype: .float32, count: 64), [UInt8](repeating: 0, count: 64)], .badDType),
      ([header(.secAggAdvertise, dtype: .bytes, count: 64)], .frameCount),
      ([header(.secAggAdvertise, dtype: .bytes, count: 64), [UInt8](repeating: 0, count: 63)], .payloadLength),
      ([header(.secAggMasked, dtype: .bytes, count: 24), [UInt8](repeating: 0, count: 24)], .wrongLength),
      ([header(.secAggShares, dtype: .bytes, count: 1 << 20), [UInt8](repeating: 0, count: 1 << 20)], .wrongLength),
    ]
    for (frames, reason) in cases {
      guard case let .failure(r) = decoder.decode(frames) else { Issue.record("accepted: \(reason)"); continue }
      #expect(r == reason)
    }
  }

  @Test func secureAggregationPayloadsAreBytes() throws {
    let masked = [UInt8](repeating: 5, count: 32)
    guard case let .success(f) = decoder.decode([header(.secAggMasked, dtype: .bytes, count: 32, aux: 0), masked]) else {
      Issue.record("a masked input of 4 × 8 bytes refused")
      return
    }
    #expect(f.bytes == masked && f.payload.isEmpty)
  }

  /// 100,000 random and mutated messages: no crash, every message either decodes to a frame
  /// that re-encodes to the same header, or is rejected under a named reason.
  @Test func fuzzHundredThousandFrames() {
    var rng = RandomStream(seed: 20_260_101)  // seeded: a failure reproduces
    var counts = RejectionCounts()
    var accepted = 0
    let valid: [[[UInt8]]] = [
      [header(.hello)], [header(.heartbeat, sender: FrameHeader.coordinatorID)],
      [header(.update, dtype: .float32, count: 4, aux: 32), [UInt8](repeating: 0x3f, count: 16)],
      [header(.model, dtype: .float32, sender: FrameHeader.coordinatorID, count: 4), [UInt8](repeating: 0, count: 16)],
    ]
    for i in 0..<100_000 {
      var frames: [[UInt8]]
      switch i % 4 {
      case 0:  // pure noise: random frame count and lengths
        frames = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
          (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
      case 1:  // a valid message with random byte flips
        frames = valid.randomElement(using: &rng)!
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          let f = Int.random(in: 0..<frames.count, using: &rng)
          if !frames[f].isEmpty { frames[f][Int.random(in: 0..<frames[f].count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
        }
      case 2:  // a valid message truncated or extended
        frames = valid.randomElement(using: &rng)!
        let f = Int.random(in: 0..<frames.count, using: &rng)
        if Bool.random(using: &rng) {
          frames[f] = Array(frames[f].prefix(Int.random(in: 0...frames[f].count, using: &rng)))
        } else {
          frames[f] += [UInt8](repeating: 7, count: Int.random(in: 1...9, using: &rng))
        }
      default:  // valid header fields with random values in each field
        var h = valid.randomElement(using: &rng)!
        let offset = [4, 6, 7, 8, 16, 20, 24, 28].randomElement(using: &rng)!
        h[0][offset] = UInt8.random(in: 0...255, using: &rng)
        if Bool.random(using: &rng) { h.append([1, 2, 3]) }
        frames = h
      }
      switch decoder.decode(frames) {
      case let .success(f):
        accepted += 1
        #expect(f.header.encoded() == frames[0])
      case let .failure(r):
        counts.record(r)
      }
    }
    #expect(accepted + counts.total == 100_000)
    #expect(counts.total > 90_000)
    #expect(counts.byReason.keys.allSatisfy { !$0.rawValue.isEmpty })
    #expect(counts.byReason.count >= 8, "expected many distinct reasons: \(counts.named)")
  }
}
