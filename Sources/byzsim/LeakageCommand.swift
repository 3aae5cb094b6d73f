import ArgumentParser
import Data
import Foundation
import Learning
import Privacy
import Tensor

/// `byzsim attack gradient-leakage`: what a curious coordinator recovers from FedSGD updates.
struct LeakageCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gradient-leakage",
    abstract: "Gradient leakage: labels (iDLG) and inputs (a first dense layer's closed form) from FedSGD updates.",
    discussion: """
      For each batch size, --trials times: a worker's batch of Fashion-MNIST test images, the MLP's
      mean gradient on it (the FedSGD update the coordinator receives), and what the coordinator
      reads from it. Defences: --dp-noise S with --dp-clip C (each sample's gradient clipped to C,
      Gaussian noise S·C on the sum, as DP-SGD), and --workers K (secure aggregation: the
      coordinator sees only the mean of K workers' updates). Figures: the PSNR of the
      reconstruction against the closest image of the batch (dB; ∞ when exact, averaged as the
      median), and the share of the batch's labels recovered.
      --json keys: rows[{batch_size, psnr_median, psnr_mean_finite, exact, label_recall}], workers, dp_noise, dp_clip.
      """)

  @Option(help: "Batch sizes, comma-separated.")
  var batchSizes = "1,2,4,8,16"
  @Option(help: "Updates per batch size.")
  var trials = 20
  @Option(help: "MLP hidden widths.")
  var hidden = "100"
  @Option(help: "DP-SGD noise multiplier on each update (0: none).")
  var dpNoise = 0.0
  @Option(help: "DP-SGD clipping norm.")
  var dpClip: Float = 1
  @Option(help: "Workers summed by secure aggregation before the coordinator sees the update.")
  var workers = 1
  @Option(help: "Seed of the model, the batches and the noise.")
  var seed: UInt64 = 1
  @OptionGroup var data: DataOptions
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    let sizes = try batchSizes.split(separator: ",").map { item -> Int in
      guard let b = Int(item.trimmingCharacters(in: .whitespaces)), (1...1024).contains(b) else {
        throw ValidationError("--batch-sizes: '\(item)' is not a batch size in 1...1024")
      }
      return b
    }
    let widths = hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else { throw ValidationError("--hidden must be positive widths") }
    guard trials >= 1, workers >= 1, dpNoise >= 0, dpNoise.isFinite, dpClip > 0 else {
      throw ValidationError("--trials and --workers at least 1, --dp-noise ≥ 0, --dp-clip > 0")
    }
    let test = try FashionMNIST.load(.test, directory: data.dataDir).dataset
    let network = ModelSpec(kind: .mlp, hidden: widths).makeNetwork(input: test.shape, classes: test.classes, seed: seed)
    let d = test.shape.size
    var rng = RandomStream(seed: seed, purpose: .sampling, 0x4C45_414B)
    var noise = RandomStream(seed: seed, purpose: .privacyNoise, 0x4C45_414B)
    var rows: [(batch: Int, psnrs: [Double], recall: Double)] = []
    for b in sizes {
      var psnrs: [Double] = []
      var recall = 0.0
      for _ in 0..<trials {
        var observed = [Float](repeating: 0, count: network.parameterCount)
        var batches: [[Int]] = []
        for _ in 0..<workers {
          let batch = rng.sample(b, from: test.count)
          batches.append(batch)
          let x = batch.flatMap { test.features[($0 * d)..<(($0 + 1) * d)] }, y = batch.map { test.labels[$0] }
          if dpNoise > 0 {
            _ = network.clippedGradientSum(x, labels: y, batch: b, clip: dpClip)
            network.addToGradients { _, g in
              noise.addNormals(g, scale: Float(dpNoise) * dpClip)
              for j in g.indices { g[j] /= Float(b) }
            }
          } else {
            network.lossAndGradient(x, labels: y, batch: b)
          }
          for j in observed.indices { observed[j] += network.gradients[j] / Float(workers) }
        }
        let reading = GradientLeakage.read(gradient: observed, network: network)
        let all = batches.flatMap { $0 }
        psnrs.append(all.map { GradientLeakage.psnr(reading.input, Array(test.features[($0 * d)..<(($0 + 1) * d)])) }.max()!)
        let truth = Set(all.map { Int(test.labels[$0]) })
        recall += Double(truth.intersection(reading.labels).count) / Double(truth.count)
      }
      rows.append((b, psnrs, recall / Double(trials)))
    }
    func median(_ v: [Double]) -> Double {
      let s = v.sorted()
      return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    func finiteMean(_ v: [Double]) -> Double? {
      let f = v.filter(\.isFinite)
      return f.isEmpty ? nil : f.reduce(0, +) / Double(f.count)
    }
    if json {
      let items = rows.map { r -> String in
        let m = median(r.psnrs)
        return "{\"batch_size\":\(r.batch),\"psnr_median\":\(m.isFinite ? "\(m)" : "\"inf\""),"
          + "\"psnr_mean_finite\":\(finiteMean(r.psnrs).map { "\($0)" } ?? "null"),\"exact\":\(r.psnrs.filter { !$0.isFinite || $0 > 60 }.count),"
          + "\"label_recall\":\(r.recall)}"
      }
      print("{\"workers\":\(workers),\"dp_noise\":\(dpNoise),\"dp_clip\":\(dpClip),\"rows\":[\(items.joined(separator: ","))]}")
    } else {
      print("batch  PSNR median (dB)  exact (>60 dB)  label recall   [workers \(workers), DP noise \(dpNoise)]")
      for r in rows {
        let m = median(r.psnrs)
        print(
          String(
            format: "%5d  %@  %7d/%-6d  %.3f", r.batch,
            (m.isFinite ? String(format: "%.1f", m) : "∞").padding(toLength: 16, withPad: " ", startingAt: 0),
            r.psnrs.filter { !$0.isFinite || $0 > 60 }.count, trials, r.recall))
      }
    }
  }
}
