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
    abstract:
      "Gradient leakage: labels (iDLG) and inputs (a first dense layer's closed form, or gradient matching: inverting gradients, DLG) from FedSGD/FedAvg updates.",
    discussion: """
      For each batch size, --trials times: a worker's batch of Fashion-MNIST test images, the MLP's
      mean gradient on it (the FedSGD update the coordinator receives), and what the coordinator
      reads from it: --method closed-form (the first dense layer's rows), inverting (Geiping et al.
      2020: cosine matching with a total-variation prior, --tv) or dlg (Zhu et al. 2019: squared
      distance), the last two by --iterations Adam steps of --lr. --local-steps K: the worker takes
      K SGD steps of --worker-lr on its batch and sends the model delta (FedAvg). Defences: --dp-noise S with --dp-clip C (each sample's gradient clipped to C,
      Gaussian noise S·C on the sum, as DP-SGD), and --workers K (secure aggregation: the
      coordinator sees only the mean of K workers' updates). Figures: the PSNR of the
      reconstruction against the closest image of the batch (dB; ∞ when exact, averaged as the
      median), and the share of the batch's labels recovered.
      --svg FILE draws, for the first trial of every batch size, the batch above its reconstruction.
      --json keys: rows[{batch_size, psnr_median, psnr_mean_finite, exact, label_recall}], workers, dp_noise, dp_clip,
      method, local_steps.

      Example:
        byzsim attack gradient-leakage --batch-sizes 1,4,16 --method inverting --svg leakage.svg
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
  @Option(help: "How the input is read: closed-form, inverting or dlg.")
  var method: Method = .closedForm
  @Option(help: "Gradient-matching iterations (inverting, dlg).")
  var iterations = 300
  @Option(help: "Gradient matching's Adam step size.")
  var lr: Float = 0.1
  @Option(help: "Total-variation weight (inverting).")
  var tv: Float = 1e-2
  @Option(help: "Local SGD steps of the worker on its batch (1: FedSGD).")
  var localSteps = 1
  @Option(help: "The worker's local learning rate (local steps > 1).")
  var workerLr: Float = 0.05
  @Option(help: "Draw each batch size's first batch and its reconstruction here (SVG).")
  var svg: String?
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
    guard (1...1000).contains(localSteps), workerLr > 0, workerLr.isFinite, (1...100_000).contains(iterations), lr > 0, lr.isFinite,
      tv >= 0, tv.isFinite
    else {
      throw ValidationError("--local-steps 1 to 1000, --worker-lr > 0, --iterations 1 to 100000, --lr > 0, --tv ≥ 0")
    }
    let test = try FashionMNIST.load(.test, directory: data.dataDir).dataset
    let network = ModelSpec(kind: .mlp, hidden: widths).makeNetwork(input: test.shape, classes: test.classes, seed: seed)
    let d = test.shape.size
    var rng = RandomStream(seed: seed, purpose: .sampling, 0x4C45_414B)
    var noise = RandomStream(seed: seed, purpose: .privacyNoise, 0x4C45_414B)
    var rows: [(batch: Int, psnrs: [Double], recall: Double)] = []
    var drawn: [(caption: String, image: [Float])] = []
    for b in sizes {
      var psnrs: [Double] = []
      var recall = 0.0
      for trial in 0..<trials {
        var observed = [Float](repeating: 0, count: network.parameterCount)
        var batches: [[Int]] = []
        for _ in 0..<workers {
          let batch = rng.sample(b, from: test.count)
          batches.append(batch)
          let x = batch.flatMap { test.features[($0 * d)..<(($0 + 1) * d)] }, y = batch.map { test.labels[$0] }
          let g = workerGradient(network, x: x, y: y, batch: b, noise: &noise)
          for j in observed.indices { observed[j] += g[j] / Float(workers) }
        }
        let reading = GradientLeakage.read(gradient: observed, network: network)
        let all = batches.flatMap { $0 }
        let images = all.map { Array(test.features[($0 * d)..<(($0 + 1) * d)]) }
        let reconstructed = reconstruct(observed, reading: reading, batch: b, network: network, shape: test.shape, trial: trial)
        // Each reconstruction against its closest image of the batch; the trial's figure is their mean.
        let best = reconstructed.map { r in images.map { GradientLeakage.psnr(r, $0) }.max()! }
        psnrs.append(best.count == 1 ? best[0] : best.map { min($0, 100) }.reduce(0, +) / Double(best.count))
        let truth = Set(all.map { Int(test.labels[$0]) })
        recall += Double(truth.intersection(reading.labels).count) / Double(truth.count)
        if trial == 0, svg != nil {
          drawn += zip(all, images).map { ("b\(b) class \(test.labels[$0.0])", $0.1) }
          drawn += zip(best, reconstructed).map { ($0.0.isFinite ? String(format: "read %.0f dB", $0.0) : "read: exact", $0.1) }
        }
      }
      rows.append((b, psnrs, recall / Double(trials)))
    }
    if let svg {
      do {
        try InversionCommand.svg(drawn, shape: test.shape, title: "Gradient leakage (\(method.rawValue)): batches and what was read").write(
          toFile: svg, atomically: true, encoding: .utf8)
      } catch {
        throw UserError("cannot write \(svg): \((error as NSError).localizedDescription)")
      }
    }
    func finiteMean(_ v: [Double]) -> Double? {
      let f = v.filter(\.isFinite)
      return f.isEmpty ? nil : f.reduce(0, +) / Double(f.count)
    }
    if json {
      let items = rows.map { r -> String in
        let m = Statistics.median(r.psnrs)
        return "{\"batch_size\":\(r.batch),\"psnr_median\":\(m.isFinite ? "\(m)" : "\"inf\""),"
          + "\"psnr_mean_finite\":\(finiteMean(r.psnrs).map { "\($0)" } ?? "null"),\"exact\":\(r.psnrs.filter { !$0.isFinite || $0 > 60 }.count),"
          + "\"label_recall\":\(r.recall)}"
      }
      print(
        "{\"method\":\"\(method.rawValue)\",\"local_steps\":\(localSteps),\"workers\":\(workers),\"dp_noise\":\(dpNoise),\"dp_clip\":\(dpClip),\"rows\":[\(items.joined(separator: ","))]}"
      )
    } else {
      print(
        "batch  PSNR median (dB)  exact (>60 dB)  label recall   [\(method.rawValue), local steps \(localSteps), workers \(workers), DP noise \(dpNoise)]"
      )
      for r in rows {
        let m = Statistics.median(r.psnrs)
        print(
          String(
            format: "%5d  %@  %7d/%-6d  %.3f", r.batch,
            (m.isFinite ? String(format: "%.1f", m) : "∞").padding(toLength: 16, withPad: " ", startingAt: 0),
            r.psnrs.filter { !$0.isFinite || $0 > 60 }.count, trials, r.recall))
      }
    }
  }
  enum Method: String, ExpressibleByArgument, CaseIterable {
    case closedForm = "closed-form", inverting, dlg
  }

  /// What the worker sends, as a gradient: its mean gradient on the batch (FedSGD), or for K local
  /// steps the model delta over −(worker lr · K) — the average of its K gradients. With DP noise,
  /// every step is a DP-SGD step. The network's parameters are restored.
  func workerGradient(_ network: Network, x: [Float], y: [Int32], batch b: Int, noise: inout RandomStream) -> [Float] {
    let start = network.parameters
    var sum = [Float](repeating: 0, count: network.parameterCount)
    for _ in 0..<localSteps {
      if dpNoise > 0 {
        _ = network.clippedGradientSum(x, labels: y, batch: b, clip: dpClip)
        network.addToGradients { _, g in
          noise.addNormals(g, scale: Float(dpNoise) * dpClip)
          for j in g.indices { g[j] /= Float(b) }
        }
      } else {
        network.lossAndGradient(x, labels: y, batch: b)
      }
      for j in sum.indices { sum[j] += network.gradients[j] / Float(localSteps) }
      if localSteps > 1 { for j in network.parameters.indices { network.parameters[j] -= workerLr * network.gradients[j] } }
    }
    network.parameters = start
    return sum
  }

  /// The batch as the method reads it: the closed form's one image, or the matched batch.
  func reconstruct(_ g: [Float], reading: GradientLeakage.Reading, batch: Int, network: Network, shape: ImageShape, trial: Int) -> [[Float]]
  {
    guard method != .closedForm else { return [reading.input] }
    let set = reading.labels.sorted()
    let labels = (0..<batch).map { Int32(set[$0 % set.count]) }
    var settings = GradientInversion.Settings()
    settings.loss = method == .dlg ? .l2 : .cosine
    settings.iterations = iterations
    settings.learningRate = lr
    settings.totalVariation = method == .inverting ? tv : 0
    settings.seed = seed &+ UInt64(trial)
    let r = GradientInversion.reconstruct(target: g, labels: labels, network: network, shape: shape, settings: settings)
    let d = network.inputSize
    return (0..<batch).map { Array(r.inputs[($0 * d)..<(($0 + 1) * d)]) }
  }
}
