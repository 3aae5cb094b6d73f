import ArgumentParser
import Data
import Foundation
import Learning
import Privacy
import Runtime
import Serving
import Tensor

/// `byzsim attack inversion`: MI-Face against a model file, white-box or through an output policy.
struct InversionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inversion",
    abstract: "Model inversion (MI-Face, Fredrikson et al. 2015): reconstruct each class from the model's confidences.",
    discussion: """
      --gradient white-box uses the model file's gradients; numerical queries the model through an
      output policy (--output …) with central differences (2·784 queries a step, --max-queries per
      class). Figures per class: the cost 1 − f_y, steps, queries, the L2 distance to the class's
      mean training image and the nearest class mean; over all classes, the accuracy of an
      independently trained evaluator (an MLP trained by ByzSim on the second half of the training
      split, seed 99) on the reconstructions. --svg draws the reconstructions.
      --json keys: gradient, output, evaluator_accuracy, mean_distance_to_class_mean,
      blank_distance_to_class_mean, classes[{label, cost, steps, queries, distance_to_class_mean,
      nearest_class_mean, evaluator_label}].

      Example:
        byzsim attack inversion runs/default-20261201T101500Z/model.safetensors --gradient white-box --svg faces.svg
      """)

  @Argument(help: "The target: a model.safetensors or a run directory.", completion: .file(extensions: ["safetensors"]))
  var model: String
  @Option(help: "white-box or numerical.")
  var gradient = "white-box"
  @Option(help: "Classes to reconstruct, comma-separated (default: all).")
  var classes: String?
  @Option(help: "α: at most this many steps.")
  var steps = 5000
  @Option(help: "β: stop when a step is no better than the worst of the last β.")
  var patience = 100
  @Option(help: "γ: stop when the cost 1 − f_y is at most this.")
  var gamma = 0.01
  @Option(help: "λ: the step size.")
  var lambda = 0.1
  @Option(help: "numerical: queries per class.")
  var maxQueries = 100_000
  @OptionGroup var shown: OutputPolicyOptions
  @Option(help: "Write the reconstructions here (SVG).")
  var svg: String?
  @OptionGroup var target: TargetModelOptions
  @Flag(help: "Print one JSON object.")
  var json = false

  func validate() throws {
    guard ["white-box", "numerical"].contains(gradient) else {
      throw ValidationError("--gradient must be white-box or numerical: got \(gradient)")
    }
    guard steps >= 1, patience >= 1, lambda > 0, lambda.isFinite, gamma >= 0, gamma < 1, maxQueries >= 1 else {
      throw ValidationError("--steps, --patience and --max-queries at least 1, --lambda positive, --gamma in [0, 1)")
    }
  }

  func run() throws {
    let (loaded, victim) = try target.load(model)
    let train = try target.dataset(.train, for: loaded)
    var labels = Array(0..<loaded.classes)
    if let classes {
      labels = try classes.split(separator: ",").map { item in
        guard let c = Int(item.trimmingCharacters(in: .whitespaces)), (0..<loaded.classes).contains(c) else {
          throw ValidationError("--classes: '\(item)' is not a class in 0...\(loaded.classes - 1)")
        }
        return c
      }
    }
    let d = loaded.input.size
    var attack = ModelInversion()
    attack.alpha = steps
    attack.beta = patience
    attack.gamma = gamma
    attack.lambda = lambda
    let policy = shown.policy
    let output = shown.output
    var answers = RandomStream(seed: 1, purpose: .noise, 0x4D49)
    let progress = ProgressLine()
    var results: [(label: Int, result: ModelInversion.Result)] = []
    for label in labels {
      progress.update("inverting class \(label)", force: true)
      let r =
        gradient == "white-box"
        ? attack.invert(victim, label: label)
        : attack.invert(inputSize: d, label: label, maxQueries: maxQueries) { x in
          let p = x.withUnsafeBufferPointer { victim.probabilities($0.baseAddress!, count: 1) }[0]
          return policy.observed(p, rng: &answers)[label]
        }
      results.append((label, r))
    }
    // Class means of the training images, and the independent evaluator.
    var means = [[Double]](repeating: [Double](repeating: 0, count: d), count: loaded.classes)
    var counts = [Int](repeating: 0, count: loaded.classes)
    for i in 0..<train.count {
      let y = Int(train.labels[i])
      counts[y] += 1
      for j in 0..<d { means[y][j] += Double(train.features[i * d + j]) }
    }
    for c in means.indices where counts[c] > 0 { for j in 0..<d { means[c][j] /= Double(counts[c]) } }
    func distance(_ x: [Float], _ m: [Double]) -> Double {
      zip(x, m).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }.squareRoot()
    }
    progress.update("training the evaluator", force: true)
    let evaluator = ModelSpec(kind: .mlp).makeNetwork(input: loaded.input, classes: loaded.classes, seed: 99)
    Trainer(
      network: evaluator,
      configuration: TrainingConfiguration(epochs: 5, batchSize: 32, schedule: LearningRateSchedule(base: 0.02), momentum: 0.9, seed: 99)
    ).fit(train.subset(Array((train.count / 2)..<train.count)))
    progress.finish("inversion: \(results.count) classes")
    let images = results.flatMap(\.result.image)
    let judged = images.withUnsafeBufferPointer { evaluator.predict($0.baseAddress!, count: results.count) }
    let blank = [Float](repeating: 0, count: d)
    var rows: [String] = []
    var total = 0.0, blankTotal = 0.0, correct = 0
    for (k, (label, r)) in results.enumerated() {
      let dist = distance(r.image, means[label])
      let nearest = means.indices.min { distance(r.image, means[$0]) < distance(r.image, means[$1]) }!
      total += dist
      blankTotal += distance(blank, means[label])
      if judged[k] == Int32(label) { correct += 1 }
      rows.append(
        "{\"label\":\(label),\"cost\":\(r.cost),\"steps\":\(r.steps),\"queries\":\(r.queries),\"distance_to_class_mean\":\(dist),"
          + "\"nearest_class_mean\":\(nearest),\"evaluator_label\":\(judged[k])}")
      if !json {
        print(
          String(
            format:
              "class %d: cost %.4f after %d steps (%d queries); distance to its class mean %.3f (blank image: %.3f), nearest mean %d, evaluator says %d",
            label, r.cost, r.steps, r.queries, dist, distance(blank, means[label]), nearest, judged[k]))
      }
    }
    let accuracy = Double(correct) / Double(results.count)
    if let svg {
      do {
        try Self.svg(results.map { ("class \($0.label)", $0.result.image) }, shape: loaded.input).write(
          toFile: svg, atomically: true, encoding: .utf8)
      } catch {
        throw UserError("cannot write \(svg): \((error as NSError).localizedDescription)")
      }
    }
    if json {
      print(
        "{\"gradient\":\"\(gradient)\",\"output\":\"\(output.rawValue)\",\"evaluator_accuracy\":\(accuracy),"
          + "\"mean_distance_to_class_mean\":\(total / Double(results.count)),\"blank_distance_to_class_mean\":\(blankTotal / Double(results.count)),"
          + "\"classes\":[\(rows.joined(separator: ","))]}")
    } else {
      print(String(format: "evaluator accuracy on the reconstructions: %.2f (%d of %d)", accuracy, correct, results.count))
    }
  }

  /// The reconstructions side by side, one grey square per pixel (first channel).
  static func svg(_ images: [(caption: String, image: [Float])], shape: ImageShape, title: String = "MI-Face reconstructions") -> String {
    let scale = 4, gap = 8, w = shape.width, h = shape.height, c = shape.channels
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(images.count * (w * scale + gap))\" height=\"\(h * scale + 24)\" "
    out += "font-family=\"sans-serif\" font-size=\"11\">\n<title>\(title)</title>\n"
    for (k, item) in images.enumerated() {
      let x0 = k * (w * scale + gap)
      out += "<text x=\"\(x0)\" y=\"\(h * scale + 16)\">\(item.caption)</text>\n"
      for y in 0..<h {
        for x in 0..<w {
          let v = Int((min(1, max(0, item.image[(y * w + x) * c])) * 255).rounded())
          out += "<rect x=\"\(x0 + x * scale)\" y=\"\(y * scale)\" width=\"\(scale)\" height=\"\(scale)\" fill=\"rgb(\(v),\(v),\(v))\"/>"
        }
        out += "\n"
      }
    }
    return out + "</svg>\n"
  }
}
