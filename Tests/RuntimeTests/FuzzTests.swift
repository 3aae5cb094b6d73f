import Foundation
import TestSupport
import Testing
@testable import Data
@testable import Runtime
import TOML
import Federation

/// Seeded fuzzing (10⁵ mutated inputs each, from valid seeds) of the files a run reads: the
/// topology (TOML reader and validation), checkpoints and shard files. Every input is accepted
/// or refused with the error type that names the file — never a trap.
@Suite struct RuntimeFuzzTests {
  static let iterations = 100_000

  static func topologySeeds() throws -> [[UInt8]] {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("topologies")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }.sorted()
    return try files.map { Array(try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8).utf8) }
      + [Array(TopologyTests.valid.utf8)]
  }

  @Test func topologies() throws {
    var m = Mutator(seed: 6, seeds: try Self.topologySeeds())
    var valid = 0
    for _ in 0..<Self.iterations {
      let text = String(decoding: m.next(), as: UTF8.self)
      do {
        let t = try Topology.decode(text, file: "f.toml")
        // Workers are processes (at most Limits.workers); logical clients are counted apart.
        let most = t.clients == nil ? Limits.workers : Limits.clients
        #expect(t.workerCount >= 1 && t.workerCount <= most && t.rounds <= Limits.rounds)
        #expect(t.processCount >= 1 && t.processCount <= Limits.workers)
        if let c = t.clients { #expect(c.count == t.workerCount && c.perRound <= c.count && c.pool <= c.perRound) }
        valid += 1
      } catch let e as TopologyError {
        #expect(e.file == "f.toml" && !e.message.isEmpty)
      } catch {
        Issue.record("not a TopologyError: \(error)")
      }
    }
    #expect(valid > 1_000)
  }

  @Test func checkpoints() {
    let e = Checkpoint.Expectation(runID: 9, rounds: 50, parameterCount: 4, velocityCount: 4, auditorCount: 2)
    let seeds = [
      Checkpoint(
        nextRound: 10, parameters: [1, 2, 3, 4],
        engine: EngineState(
          velocity: [0, 0, 0.5, 1], aggregator: [2, 1, 0, 5, 1, 6],
          cusum: [1, 3, 0.5, 0, 0], auditors: [[2, 1, 0, 5, 1, 6], []])),
      Checkpoint(nextRound: 50, parameters: [0, -1, 1e-3, 7], engine: EngineState(velocity: [1, 1, 1, 1])),
    ].map { $0.encoded(runID: 9) }
    var m = Mutator(seed: 7, seeds: seeds)
    var accepted = 0
    for _ in 0..<Self.iterations {
      do {
        let cp = try Checkpoint.decode(m.next(), path: "cp.bin", expecting: e)
        #expect(cp.parameters.count == 4 && (1...50).contains(cp.nextRound))
        accepted += 1
      } catch let error as FileFormatError {
        #expect(error.path == "cp.bin")
      } catch {
        Issue.record("not a FileFormatError: \(error)")
      }
    }
    // A mutation survives only if it rewrote nothing the digest covers (a splice of identical bytes).
    #expect(accepted < Self.iterations / 10)
  }

  @Test func shards() {
    let d = Dataset(
      features: (0..<24).map { Float($0 % 5) / 255 }, labels: [1, 0, 9, 3], shape: .init(height: 3, width: 2, channels: 1), classes: 10)
    let table = Dataset(
      features: [0.5, -1.25, 3e7, -0, 1e-30, 2], labels: [1, 0, 1], shape: .init(height: 1, width: 2, channels: 1), classes: 2,
      domain: .tabular)
    var m = Mutator(seed: 8, seeds: [ShardFile.encode(d), ShardFile.encode(d.prefix(1)), ShardFile.encode(table)])
    var ok = 0
    for _ in 0..<Self.iterations {
      do {
        let c = try ShardFile.decodeCompact(m.next(), path: "s.bin")
        #expect(c.labels.allSatisfy { $0 < Int32(c.classes) })
        #expect(c.values.allSatisfy { $0.isFinite })
        ok += 1
      } catch let e as FileFormatError {
        #expect(e.path == "s.bin")
      } catch {
        Issue.record("not a FileFormatError: \(error)")
      }
    }
    #expect(ok > 100)
  }

  /// A tabular shard (version 2) keeps its Float32 features bit for bit; a NaN feature, a
  /// truncated or padded file is refused with the path.
  @Test func tabularShardsRoundTripAndRefuseNaN() throws {
    let table = Dataset(
      features: [0.5, -1.25, 3e7, -0.0, 1e-30, .leastNonzeroMagnitude], labels: [1, 0, 1], shape: .init(height: 1, width: 2, channels: 1),
      classes: 2, domain: .tabular)
    let bytes = ShardFile.encode(table)
    #expect(bytes[4] == 2)  // the version
    let back = try ShardFile.decode(bytes, path: "t.bin")
    #expect(back.domain == .tabular && back.labels == table.labels && back.shape == table.shape)
    #expect(back.features.map(\.bitPattern) == table.features.map(\.bitPattern))
    var nan = bytes
    nan.replaceSubrange((bytes.count - 4)..., with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init))
    #expect(throws: FileFormatError(path: "t.bin", message: "a feature is NaN or infinite")) { try ShardFile.decode(nan, path: "t.bin") }
    #expect(throws: FileFormatError.self) { try ShardFile.decode(Array(bytes.dropLast()), path: "t.bin") }
    #expect(throws: FileFormatError.self) { try ShardFile.decode(bytes + [0], path: "t.bin") }
  }
}
