import Data
import Federation
import Foundation
import Learning
import Privacy
import Tensor

// The honest-but-curious coordinator (`curious = { every = N }` in `[coordinator]`): it follows
// the protocol but reads each worker's batch out of the FedSGD gradient it receives — iDLG labels
// and the first dense layer's closed-form input (`Privacy.GradientLeakage`). It writes what it
// read to curious.jsonl (one writer: the coordinator); after the run, evaluation — which alone
// may read the workers' shards — scores each reading against the batch the worker really used.

extension RunDirectory {
  /// The curious coordinator's readings, one JSON line per (round, worker).
  public var curiousFile: String { file("curious.jsonl") }
}

/// One reading: a worker's update in a round, as the coordinator decoded it.
struct CuriousReading: Codable {
  var round: Int
  var worker: Int
  var labels: [Int]
  var input: [Float]
}

extension Coordinator {
  /// Reads every update of round `round` and appends the readings to curious.jsonl.
  func peek(_ round: Int, _ updates: [RoundEngine.Update]) throws {
    var lines = Data()
    for u in updates {
      let r = GradientLeakage.read(gradient: u.vector, network: network)
      lines += try JSONEncoder.snake().encode(CuriousReading(round: round, worker: u.id, labels: r.labels.sorted(), input: r.input))
      lines.append(0x0A)
    }
    let handle: FileHandle
    if !FileManager.default.fileExists(atPath: run.curiousFile) {
      guard FileManager.default.createFile(atPath: run.curiousFile, contents: nil) else {
        throw RuntimeError("cannot create \(run.curiousFile)")
      }
    }
    do { handle = try FileHandle(forWritingTo: URL(fileURLWithPath: run.curiousFile)) } catch {
      throw RuntimeError("cannot open \(run.curiousFile): \(error.localizedDescription)")
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: lines)
  }
}

/// The curious coordinator's haul, scored against the truth: per reading, the PSNR of its
/// reconstruction against the closest image of the worker's real batch and the share of the
/// batch's labels it named (readings of an empty DP-SGD batch are not counted).
public struct GradientLeakageSummary: Codable, Sendable, Equatable {
  public var readings: Int
  /// Median PSNR (dB) over the readings; null if there are none. ∞ (exact) is counted as 100 dB.
  @Nullable public var psnrMedian: Double?
  /// Readings reconstructed exactly or nearly (PSNR above 60 dB).
  public var exact: Int
  public var labelRecall: Double
}

public enum CuriousReport {
  /// Nil unless the run's coordinator was curious.
  public static func evaluate(_ run: RunDirectory) throws -> GradientLeakageSummary? {
    let topology = try run.loadTopology()
    guard topology.coordinator.curiousEvery != nil else { return nil }
    guard let data = FileManager.default.contents(atPath: run.curiousFile) else {
      return GradientLeakageSummary(readings: 0, psnrMedian: nil, exact: 0, labelRecall: 0)
    }
    var shards: [Int: LocalTraining] = [:]
    var psnrs: [Double] = [], recall = 0.0
    for line in data.split(separator: 0x0A) {
      let r: CuriousReading
      do { r = try JSONDecoder.snake.decode(CuriousReading.self, from: Data(line)) } catch {
        throw FileFormatError(path: run.curiousFile, message: "a line that is not a reading: \(error)")
      }
      if shards[r.worker] == nil {
        let shard = try ShardFile.decodeCompact(try Files.read(run.shardFile(r.worker)), path: run.shardFile(r.worker))
        shards[r.worker] = LocalTraining(data: shard, topology: topology, stream: UInt64(r.worker))
      }
      let local = shards[r.worker]!
      let indices = local.firstBatch(round: r.round)
      // A DP-SGD worker's Poisson batch can be empty: there was nothing to leak.
      guard !indices.isEmpty else { continue }
      let batch = local.data.materialize(indices)
      let d = batch.shape.size
      let best = (0..<batch.count).map { GradientLeakage.psnr(r.input, Array(batch.features[($0 * d)..<(($0 + 1) * d)])) }.max() ?? 0
      psnrs.append(best.isFinite ? best : 100)
      let truth = Set(batch.labels.map(Int.init))
      recall += Double(truth.intersection(r.labels).count) / Double(max(1, truth.count))
    }
    let median = psnrs.isEmpty ? nil : Statistics.median(psnrs)
    return GradientLeakageSummary(
      readings: psnrs.count, psnrMedian: median, exact: psnrs.filter { $0 > 60 }.count,
      labelRecall: psnrs.isEmpty ? 0 : recall / Double(psnrs.count))
  }
}
