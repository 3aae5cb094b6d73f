import ArgumentParser
import Data
import Foundation
import Learning
import Tensor

/// `byzsim-bench train`: training throughput of the MLP and the CNN next to the GEMM
/// FLOP/s of the same machine, measured in the same run.
struct TrainBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Training throughput (samples/s) and efficiency against this machine's SGEMM.",
    discussion: """
      For each BLAS thread count, first measures a 1024×1024×1024 SGEMM (the machine's GEMM
      FLOP/s), then full training steps (batch gather, forward, backward, SGD momentum step)
      of the MLP 784-100-10 and the Fang et al. CNN at each batch size on synthetic 28×28
      images. Efficiency = achieved training FLOP/s ÷ that SGEMM FLOP/s.
      """)

  @Option(help: "Seconds per measurement.")
  var seconds: Double = 2
  @Option(parsing: .upToNextOption, help: "BLAS thread counts to measure.")
  var threads: [Int] = [1, 2]
  @Option(parsing: .upToNextOption, help: "Batch sizes to measure.")
  var batchSizes: [Int] = [32, 256]
  @Option(parsing: .upToNextOption, help: "Models to measure.")
  var models: [ModelKind] = [.mlp, .cnn]
  @Option(help: "Samples per forward/backward pass (default: each network's own, from its layers' workspace).")
  var microBatch: Int?
  @Flag(help: "Also time each layer's forward and backward pass on its own (one thread, one micro-batch at a time).")
  var layers = false
  @Flag(help: "Print one JSON object instead of the table.")
  var json = false

  func validate() throws {
    if let m = microBatch, m < 1 { throw ValidationError("--micro-batch must be >= 1: got \(m)") }
  }

  struct Row: Encodable {
    let model: String, batchSize: Int, threads: Int, microBatch: Int
    let samplesPerSecond: Double, gflops: Double, gemmGflops: Double, efficiency: Double
  }
  struct Report: Encodable {
    let gemmGflops: [String: Double]
    let rows: [Row]
    let checksum: Double
    let blas: String
  }

  func run() throws {
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    var rows: [Row] = []
    var gemm: [String: Double] = [:]
    var checksum = 0.0
    if !json { print("BLAS: \(BLAS.configuration)") }
    for t in threads {
      BLAS.threads = t
      let (g, c) = Self.gemmGflops(n: 1024, seconds: seconds)
      gemm[String(t)] = g
      checksum += c
      if !json { print(String(format: "threads %d: SGEMM 1024³ %.1f GFLOP/s", t, g)) }
      for kind in models {
        for batch in batchSizes {
          let spec = ModelSpec(kind: kind)
          let network = spec.makeNetwork(input: shape, classes: 10, seed: 1)
          if let microBatch { network.microBatch = microBatch }
          // As byzsim train runs: t passes of a batch on t threads (one BLAS thread each).
          network.parallelPasses = t
          let data = Self.syntheticData(count: max(4096, batch * 16), shape: shape)
          let trainer = Trainer(
            network: network,
            configuration: TrainingConfiguration(
              epochs: 1, batchSize: batch, schedule: LearningRateSchedule(base: 0.01), momentum: 0.9))
          var cursor = 0
          let (stepsPerSecond, c) = measure(seconds: seconds) {
            if cursor + batch > data.count { cursor = 0 }
            defer { cursor += batch }
            return trainer.step(data, indices: cursor..<(cursor + batch), learningRate: 0.01)
          }
          checksum += c
          let sps = stepsPerSecond * Double(batch)
          let flops = sps * Double(network.flopsPerSample(training: true)) / 1e9
          let row = Row(
            model: spec.description, batchSize: batch, threads: t, microBatch: network.microBatch, samplesPerSecond: sps,
            gflops: flops, gemmGflops: g, efficiency: flops / g)
          rows.append(row)
          if !json {
            // Issue 20's aim: the CNN with 2 threads at ≥ 50% of the 2-thread SGEMM rate.
            let aim = kind == .cnn && t == 2 ? "   aim ≥ 50% with 2 threads: \(row.efficiency >= 0.5 ? "met" : "NOT met")" : ""
            print(
              String(
                format: "  %@ batch %4d (passes of %3d): %9.0f samples/s  %6.1f GFLOP/s  %5.1f%% of SGEMM",
                row.model.padding(toLength: 12, withPad: " ", startingAt: 0), batch, network.microBatch, sps, flops,
                100 * row.efficiency) + aim)
          }
        }
      }
    }
    if layers && !json {
      BLAS.threads = 1
      for kind in models {
        let network = ModelSpec(kind: kind).makeNetwork(input: shape, classes: 10, seed: 1)
        let micro = microBatch ?? network.microBatch
        let rows = LayerTimes.measure(network, micro: micro, seconds: min(seconds, 0.5))
        let total = rows.reduce(0) { $0 + $1.forward + $1.backward }
        print(
          "\(ModelSpec(kind: kind).description), passes of \(micro), µs per sample (share of \(String(format: "%.1f", total * 1e6)) µs):")
        for r in rows {
          print(
            String(
              format: "  %@ forward %7.2f (%4.1f%%)  backward %7.2f (%4.1f%%)",
              r.summary.padding(toLength: 30, withPad: " ", startingAt: 0), r.forward * 1e6,
              100 * r.forward / total, r.backward * 1e6, 100 * r.backward / total))
        }
      }
    }
    if json {
      let encoder = JSONEncoder()
      encoder.keyEncodingStrategy = .convertToSnakeCase
      encoder.outputFormatting = [.sortedKeys]
      print(
        String(
          decoding: try encoder.encode(Report(gemmGflops: gemm, rows: rows, checksum: checksum, blas: BLAS.configuration)), as: UTF8.self))
    } else {
      print(String(format: "checksum %.6g", checksum))
    }
  }

  /// SGEMM GFLOP/s of C (n×n) = A · B on deterministic data.
  static func gemmGflops(n: Int, seconds: Double) -> (Double, Double) {
    var rng = RandomStream(seed: 7, purpose: .benchmark)
    let a = (0..<(n * n)).map { _ in rng.nextFloat() - 0.5 }
    let b = (0..<(n * n)).map { _ in rng.nextFloat() - 0.5 }
    var c = [Float](repeating: 0, count: n * n)
    let (rate, checksum) = measure(seconds: seconds) {
      a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
          c.withUnsafeMutableBufferPointer { pc in
            BLAS.gemm(
              .none, .none, m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n,
              c: pc.baseAddress!, ldc: n)
            return Double(pc[n + 1])
          }
        }
      }
    }
    return (rate * 2 * Double(n * n * n) / 1e9, checksum)
  }

  static func syntheticData(count: Int, shape: ImageShape) -> Dataset {
    var rng = RandomStream(seed: 3, purpose: .benchmark)
    let features = (0..<(count * shape.size)).map { _ in rng.nextFloat() }
    let labels = (0..<count).map { _ in Int32(rng.nextInt(below: 10)) }
    return Dataset(features: features, labels: labels, shape: shape, classes: 10)
  }
}
