import Foundation
import TestSupport
import Testing
@testable import Data
import Federation
@testable import Runtime
@testable import Tensor

@Suite struct RuntimeFilesTests {
  @Test func batchSamplingDrawsDistinctIndicesDeterministically() {
    var a = RandomStream(seed: 1, 2), b = RandomStream(seed: 1, 2)
    let s = a.sample(32, from: 100)
    #expect(Set(s).count == 32 && s.allSatisfy { (0..<100).contains($0) })
    #expect(b.sample(32, from: 100) == s)
  }

  @Test func checkpointRoundTripsAndRejectsDamage() throws {
    let dir = Scratch.directory("byzsim-cp")
    let path = dir.appendingPathComponent("checkpoint.bin").path
    let cp = Checkpoint(nextRound: 7, parameters: [1, -2.5, .pi], engine: EngineState(velocity: [0.5, 0, -1], aggregator: [4, 2]))
    let e = Checkpoint.Expectation(runID: 42, rounds: 10, parameterCount: 3, velocityCount: 3, auditorCount: 0)
    try cp.write(to: path, runID: 42)
    #expect(try Checkpoint.read(path, expecting: e) == cp)
    // No temp file is left behind by the atomic write.
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["checkpoint.bin"])
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
    #expect(throws: FileFormatError.self) { try Checkpoint.read(path, expecting: e) }
    try Data("BZMDxxxx".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: FileFormatError.self) { try Checkpoint.read(path, expecting: e) }
  }

  /// Pixels ·255 rounded half away from zero without roundf: every byte value back exactly, and
  /// 200,000 values in [0, 1] plus those next to each half-way point as libm's roundf rounds them.
  @Test func pixelBytesRoundAsRoundfDoes() {
    var values = (0...255).map { Float($0) / 255 }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<200_000 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      values.append(Float(state >> 40) / Float(1 << 24))
    }
    for k in 0..<255 {
      let half = (Float(k) + 0.5) / 255
      values += [half.nextDown, half, half.nextUp]
    }
    values += [0, 1, Float(1).nextDown, Float.leastNonzeroMagnitude]
    #expect(ShardFile.bytes(pixels: values) == values.map { UInt8(($0 * 255).rounded()) })
    #expect(ShardFile.bytes(pixels: (0...255).map { Float($0) / 255 }) == (0...255).map { UInt8($0) })
  }

  @Test func shardFilesRoundTripExactly() throws {
    let pixels: [UInt8] = [0, 1, 127, 128, 254, 255, 3, 9]
    let d = Dataset(features: pixels.map { Float($0) / 255 }, labels: [4, 9], shape: .init(height: 2, width: 2, channels: 1), classes: 10)
    let back = try ShardFile.decode(ShardFile.encode(d), path: "x")
    #expect(back.features == d.features && back.labels == d.labels && back.shape == d.shape)
    var bad = ShardFile.encode(d)
    bad[28] = 200  // the first label (after the 28-byte header) becomes 200 >= 10 classes
    #expect(throws: FileFormatError.self) { try ShardFile.decode(bad, path: "x") }
    #expect(throws: FileFormatError.self) { try ShardFile.decode(Array(ShardFile.encode(d).dropLast()), path: "x") }
  }
}
