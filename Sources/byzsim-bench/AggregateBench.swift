import Aggregation
import ArgumentParser
import Foundation
import Tensor

/// `byzsim-bench aggregate`: every rule's time next to two floors measured in the same run.
struct AggregateBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "aggregate",
    abstract: "Aggregation time per rule vs an n×n Gram SGEMM and a streaming read of the n×d matrix.",
    discussion: "f = ⌊(n−3)/4⌋ for every rule (the largest f Bulyan accepts). Times are medians of repeated runs.")

  @Option(parsing: .upToNextOption, help: "Numbers of updates.")
  var n: [Int] = [13, 50, 100]
  @Option(parsing: .upToNextOption, help: "Update lengths.")
  var d: [Int] = [80_000, 1_000_000]
  @Option(parsing: .upToNextOption, help: "Rules to time (default: all).")
  var rules: [String] = []
  @Option(help: "Threads the coordinate-wise rules split a large matrix's columns over (default: the cores, at most 8).")
  var threads: Int?
  @Option(help: "Minimum seconds per measurement.")
  var seconds: Double = 0.3
  @Flag(help: "One JSON object instead of the table.")
  var json = false

  struct Row: Encodable {
    let rule: String, n: Int, d: Int
    let ms: Double?, gramMs: Double, streamMs: Double
    let vsGram: Double?, vsStream: Double?
    /// Issue 20's aim for the coordinate-wise rules: within this many streaming reads.
    let aimVsStream: Double?
    let note: String?
  }

  /// The coordinate-wise rules and their aim (issue 20): ≤ 3 streaming reads of the matrix.
  static let coordinateWise: Set<String> = ["median", "trimmed_mean", "meamed"]
  static let streamAim = 3.0

  /// Median milliseconds of `body` over at least 3 runs and `seconds`.
  func time(_ body: () throws -> Double) rethrows -> (Double, Double) {
    var samples: [Double] = [], check = 0.0
    let start = ContinuousClock.now
    repeat {
      let t0 = ContinuousClock.now
      check += try body()
      samples.append((ContinuousClock.now - t0).seconds * 1000)
    } while samples.count < 3 || (ContinuousClock.now - start).seconds < seconds
    samples.sort()
    return (samples[samples.count / 2], check)
  }

  func run() throws {
    BLAS.threads = 1
    if let threads {
      guard threads >= 1 else { throw ValidationError("--threads must be at least 1: got \(threads)") }
      CoordinateWiseKernels.threads = threads
    }
    if !json {
      print(
        "coordinate-wise sorting network: \(CoordinateWiseKernels.level), columns over \(CoordinateWiseKernels.threads) threads from \(CoordinateWiseKernels.parallelValues) values"
      )
    }
    var rows: [Row] = []
    var checksum = 0.0
    let names = rules.isEmpty ? AggregationRegistry.aggregators.names : rules
    for dd in d {
      for nn in n {
        var rng = RandomStream(seed: 5, purpose: .benchmark)
        let data = (0..<(nn * dd)).map { _ in Float(rng.nextNormal()) }
        let x = UpdateMatrix(rows: nn, cols: dd, data: data)
        var k = [Float](repeating: 0, count: nn * nn)
        let (gram, c1) = time {
          data.withUnsafeBufferPointer { p in
            BLAS.gemm(.none, .transposed, m: nn, n: nn, k: dd, a: p.baseAddress!, lda: dd, b: p.baseAddress!, ldb: dd, c: &k, ldc: nn)
          }
          return Double(k[0])
        }
        let (stream, c2) = time {
          data.withUnsafeBufferPointer { p in
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= p.count { acc += UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: SIMD16<Float>.self); i += 16 }
            return Double(acc.sum())
          }
        }
        checksum += c1 + c2
        if !json { print(String(format: "n=%d d=%d: Gram SGEMM %.2f ms, streaming read %.2f ms", nn, dd, gram, stream)) }
        if !json, nn <= 128, names.contains("median") {
          let (base, c3) = time { Double(CoordinateWiseKernels.median(x, baseline: true)[0]) }
          checksum += c3
          print(String(format: "  median on the baseline network (Swift SIMD16): %.2f ms, %.2f× stream", base, base / stream))
        }
        let f = (nn - 3) / 4
        for name in names {
          let entry = AggregationRegistry.aggregators.plugins.first { $0.name == name }
          var params: [String: Double] = entry?.parameters.contains { $0.name == "f" } == true ? ["f": Double(f)] : [:]
          if name == "norm_bounding" { params["norm_bound"] = 1e9 }
          var rule = try AggregationRegistry.aggregator(name, params)
          if let why = rule.problem(n: nn) {
            rows.append(
              Row(
                rule: name, n: nn, d: dd, ms: nil, gramMs: gram, streamMs: stream, vsGram: nil, vsStream: nil, aimVsStream: nil, note: why))
            if !json { print("  \(name.padding(toLength: 18, withPad: " ", startingAt: 0)) n/a: \(why)") }
            continue
          }
          let context = RoundContext(round: 1, seed: 1, reference: name == "fltrust" ? x.row(0) : nil)
          let (ms, c) = try time {
            var r = rule
            let out = try r.aggregate(x, context: context)
            return Double(out.vector[0])
          }
          _ = try rule.aggregate(x, context: context)
          checksum += c
          let aim = Self.coordinateWise.contains(name) ? Self.streamAim : nil
          rows.append(
            Row(
              rule: name, n: nn, d: dd, ms: ms, gramMs: gram, streamMs: stream, vsGram: ms / gram, vsStream: ms / stream, aimVsStream: aim,
              note: nil))
          if !json {
            let verdict = aim.map { ms / stream <= $0 ? "   aim ≤ \(Int($0))× stream: met" : "   aim ≤ \(Int($0))× stream: NOT met" } ?? ""
            print(
              String(
                format: "  %@ %9.2f ms   %6.2f× Gram   %7.2f× stream%@", name.padding(toLength: 18, withPad: " ", startingAt: 0), ms,
                ms / gram, ms / stream, verdict))
          }
        }
      }
    }
    if json {
      let e = JSONEncoder()
      e.keyEncodingStrategy = .convertToSnakeCase
      e.outputFormatting = [.sortedKeys]
      print(String(decoding: try e.encode(rows), as: UTF8.self))
    } else {
      print(String(format: "checksum %.6g", checksum))
    }
  }
}
