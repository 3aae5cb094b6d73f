import TestSupport
import Testing
@testable import Transport

/// Seeded fuzzing (10⁵ mutated inputs each, from valid seeds) of what Transport parses from
/// the network: the ZMTP stream parser of the wiretap and the frame decoder. Each input ends in
/// a result or a named rejection, never a trap.
@Suite struct TransportFuzzTests {
  static let iterations = 100_000

  static func zmtpSeed(_ mechanism: String) -> [UInt8] {
    var greeting = [UInt8](repeating: 0, count: 64)
    greeting[0] = 0xFF; greeting[9] = 0x7F; greeting[10] = 3
    for (i, b) in mechanism.utf8.enumerated() { greeting[12 + i] = b }
    let header = FrameHeader(type: .update, dtype: .float32, runID: 7, round: 3, sender: 1, count: 2, aux: 32).encoded()
    return greeting + [0x04, 5] + Array("READY".utf8) + [0x01, 32] + header + [0x00, 8] + [0, 0, 128, 63, 0, 0, 0, 64]
      + [0x02, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]
  }

  @Test func zmtpStreamParser() {
    var m = Mutator(seed: 1, seeds: [Self.zmtpSeed("NULL"), Self.zmtpSeed("CURVE")])
    var outcomes = (messages: 0, malformed: 0)
    for i in 0..<Self.iterations {
      let input = m.next()
      var p = ZMTPStreamParser(maxFrame: 1 << 16)
      // Fed in two pieces, split where the iteration says, as a socket would deliver it.
      let cut = input.isEmpty ? 0 : i % input.count
      var got = input[..<cut].withUnsafeBytes { p.feed($0) }
      got += input[cut...].withUnsafeBytes { p.feed($0) }
      for message in got { #expect(message.count <= ZMTPStreamParser.maxParts) }
      outcomes.messages += got.count
      if p.malformed != nil { outcomes.malformed += 1 }
    }
    // The mutations exercise both sides: streams that still parse, and broken ones.
    #expect(outcomes.messages > 10_000 && outcomes.malformed > 1_000, "\(outcomes)")
  }

  @Test func frameDecoder() {
    let decoder = FrameDecoder(runID: 7, modelSize: 2, workerCount: 3)
    let header = FrameHeader(type: .update, dtype: .float32, runID: 7, round: 3, sender: 1, count: 2, aux: 32).encoded()
    let hello = FrameHeader(type: .hello, runID: 7, round: 0, sender: 2, aux: 100).encoded()
    let payload: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64]
    // Seeds: the two frames joined by a 0xFE separator the test splits on.
    var m = Mutator(seed: 2, seeds: [header + [0xFE] + payload, hello])
    var accepted = 0
    for _ in 0..<Self.iterations {
      let input = m.next()
      let frames = input.split(separator: 0xFE, maxSplits: 2, omittingEmptySubsequences: false).map(Array.init)
      switch decoder.decode(frames) {
      case let .success(f):
        accepted += 1
        #expect(f.payload.count == (f.header.type.hasPayload ? 2 : 0))
        #expect(f.header.runID == 7 && (f.header.sender < 3 || f.header.sender == FrameHeader.coordinatorID))
      case .failure: break
      }
    }
    #expect(accepted > 1_000)
  }
}
