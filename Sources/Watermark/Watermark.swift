import Data
import Foundation
import Learning
import Tensor

/// Backdoor watermarks (Adi et al. 2018, "Turning Your Weakness Into a Strength: Watermarking
/// Deep Neural Networks by Backdooring"): the owner trains the model with a secret trigger set —
/// abstract images with labels drawn at random — which the model memorises; ownership is shown
/// later by how many trigger labels a suspect model reproduces, against chance.
///
/// Variant: Adi et al. used 100 abstract images (drawings); here each trigger is a seeded
/// abstract pattern — a sum of a few random oriented sine gratings and Gaussian blobs, scaled to
/// [0, 1] — unlike any Fashion-MNIST image. Embedding is their "from scratch" variant: the
/// trigger set, repeated, joins the training data.
public struct TriggerSet: Sendable, Equatable {
  public var images: [Float]
  public var labels: [Int32]
  public let shape: ImageShape
  public var count: Int { labels.count }

  public struct Invalid: Error, CustomStringConvertible {
    public let description: String
  }

  /// `count` abstract images with uniformly random labels in 0..<classes.
  public static func generate(count: Int, shape: ImageShape, classes: Int, seed: UInt64) -> TriggerSet {
    var rng = RandomStream(seed: seed, purpose: .attack, 0x574D_4B)
    var images: [Float] = []
    images.reserveCapacity(count * shape.size)
    let h = shape.height, w = shape.width, c = shape.channels
    for _ in 0..<count {
      var img = [Double](repeating: 0, count: shape.size)
      let gratings = 1 + rng.nextInt(below: 3), blobs = 1 + rng.nextInt(below: 3)
      for _ in 0..<gratings {
        let angle = rng.nextDouble() * Double.pi, frequency = 0.2 + rng.nextDouble() * 0.8, phase = rng.nextDouble() * 2 * Double.pi
        let weight = 0.5 + rng.nextDouble()
        for y in 0..<h {
          for x in 0..<w {
            let v = weight * sin(frequency * (Double(x) * cos(angle) + Double(y) * sin(angle)) + phase)
            for ch in 0..<c { img[(y * w + x) * c + ch] += v }
          }
        }
      }
      for _ in 0..<blobs {
        let cx = rng.nextDouble() * Double(w), cy = rng.nextDouble() * Double(h)
        let radius = 2 + rng.nextDouble() * Double(max(h, w)) / 4, weight = (rng.nextDouble() * 2 - 1) * 2
        for y in 0..<h {
          for x in 0..<w {
            let d2 = (Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)
            let v = weight * exp(-d2 / (2 * radius * radius))
            for ch in 0..<c { img[(y * w + x) * c + ch] += v }
          }
        }
      }
      let low = img.min()!, high = img.max()!
      images += img.map { Float(high > low ? ($0 - low) / (high - low) : 0.5) }
    }
    let labels = (0..<count).map { _ in Int32(rng.nextInt(below: classes)) }
    return TriggerSet(images: images, labels: labels, shape: shape)
  }

  /// The training data with the trigger set appended `repeats` times.
  public func embedded(in data: Dataset, repeats: Int) -> Dataset {
    var features = data.features, labels = data.labels
    for _ in 0..<repeats {
      features += images
      labels += self.labels
    }
    return Dataset(features: features, labels: labels, shape: data.shape, classes: data.classes)
  }

  /// DIR/images.csv (one image per row, pixels in [0, 1], HWC order) and DIR/labels.csv (one
  /// label per row).
  public func write(to dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let d = shape.size
    let rows = (0..<count).map { i in images[(i * d)..<((i + 1) * d)].map { "\($0)" }.joined(separator: ",") }
    try (rows.joined(separator: "\n") + "\n").write(toFile: dir + "/images.csv", atomically: true, encoding: .utf8)
    try (labels.map { "\($0)" }.joined(separator: "\n") + "\n").write(toFile: dir + "/labels.csv", atomically: true, encoding: .utf8)
  }

  /// Reads what `write` wrote, checking shape, range and labels.
  public static func read(from dir: String, shape: ImageShape, classes: Int) throws -> TriggerSet {
    func lines(_ name: String) throws -> [Substring] {
      guard let data = FileManager.default.contents(atPath: dir + "/" + name), let text = String(data: data, encoding: .utf8) else {
        throw Invalid(description: "\(dir)/\(name): cannot be read (a trigger directory holds images.csv and labels.csv)")
      }
      return text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }
    let imageLines = try lines("images.csv"), labelLines = try lines("labels.csv")
    guard !imageLines.isEmpty, imageLines.count == labelLines.count else {
      throw Invalid(description: "\(dir): \(imageLines.count) images and \(labelLines.count) labels; they must match and not be empty")
    }
    var images: [Float] = []
    for (n, line) in imageLines.enumerated() {
      let values = line.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
      guard values.count == shape.size else {
        throw Invalid(description: "\(dir)/images.csv:\(n + 1): \(values.count) values; the model takes \(shape.size)")
      }
      for v in values {
        guard let v, v.isFinite, v >= 0, v <= 1 else { throw Invalid(description: "\(dir)/images.csv:\(n + 1): a value not in [0, 1]") }
        images.append(v)
      }
    }
    var labels: [Int32] = []
    for (n, line) in labelLines.enumerated() {
      guard let l = Int32(line.trimmingCharacters(in: .whitespaces)), l >= 0, l < classes else {
        throw Invalid(description: "\(dir)/labels.csv:\(n + 1): '\(line)' is not a class in 0...\(classes - 1)")
      }
      labels.append(l)
    }
    return TriggerSet(images: images, labels: labels, shape: shape)
  }
}

/// The ownership test: P(X ≥ matches) for X ~ Binomial(n, 1/classes) — the chance that a model
/// that never saw the triggers agrees with at least that many random labels.
public enum WatermarkTest {
  public static func pValue(matches k: Int, of n: Int, classes: Int) -> Double {
    precondition(n > 0 && k >= 0 && k <= n && classes >= 2, "a binomial tail needs 0 ≤ k ≤ n and at least two classes")
    let p = 1 / Double(classes)
    var total = 0.0
    for j in k...n {
      let logTerm =
        lgamma(Double(n) + 1) - lgamma(Double(j) + 1) - lgamma(Double(n - j) + 1) + Double(j) * log(p) + Double(n - j) * log1p(-p)
      total += exp(logTerm)
    }
    return min(1, total)
  }
}

/// The federation owner's watermark, embedded at the server: WAFFLE (Tekgul, Xia, Marchal &
/// Asokan, "WAFFLE: Watermarking in Federated Learning", SRDS 2021). The coordinator holds the
/// trigger set; it trains the initial model on it before the first round (their PRETRAIN) and,
/// after every aggregation, retrains the new global model on it until the trigger accuracy
/// reaches `threshold` (their RETRAIN) — the workers never see the triggers.
///
/// Variant: WAFFLE retrains in epochs over the watermark set with a cap on epochs and uses its
/// own "WafflePattern" images; here retraining takes plain SGD steps on mini-batches of the
/// trigger set (the federation's batch size and learning rate, no momentum) until the accuracy
/// on the whole set reaches `threshold` or `maxSteps` steps were taken, and the triggers are
/// `TriggerSet`'s abstract patterns (Adi et al.'s kind), so `byzsim watermark verify` checks them.
public struct ServerRetraining: Sendable {
  public let triggers: TriggerSet
  public let threshold: Double
  public let maxSteps: Int
  public let batchSize: Int
  public let learningRate: Float
  public let seed: UInt64

  public init(triggers: TriggerSet, threshold: Double, maxSteps: Int, batchSize: Int, learningRate: Float, seed: UInt64) {
    self.triggers = triggers; self.threshold = threshold; self.maxSteps = maxSteps
    self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed
  }

  /// The share of the triggers `network` gives their labels.
  public func accuracy(_ network: Network) -> Double {
    let predicted = triggers.images.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: triggers.count) }
    return Double(zip(predicted, triggers.labels).filter { $0 == $1 }.count) / Double(triggers.count)
  }

  /// Retrains `network` in place until its trigger accuracy reaches the threshold (or the step
  /// cap); `round` (−1 for the pretraining) seeds the batches. Returns the steps taken and the
  /// trigger accuracy reached.
  public func retrain(_ network: Network, round: Int) -> (steps: Int, accuracy: Double) {
    var rng = RandomStream(seed: seed, purpose: .attack, 0x5741_4646, UInt64(bitPattern: Int64(round)))
    let d = triggers.shape.size, batch = min(batchSize, triggers.count)
    var accuracy = self.accuracy(network), steps = 0
    var x = [Float](repeating: 0, count: batch * d), y = [Int32](repeating: 0, count: batch)
    while accuracy < threshold && steps < maxSteps {
      for (k, i) in rng.sample(batch, from: triggers.count).enumerated() {
        for j in 0..<d { x[k * d + j] = triggers.images[i * d + j] }
        y[k] = triggers.labels[i]
      }
      x.withUnsafeBufferPointer { xp in
        y.withUnsafeBufferPointer { yp in _ = network.lossAndGradient(xp.baseAddress!, labels: yp.baseAddress!, batch: batch) }
      }
      let rate = learningRate
      network.parameters.withUnsafeMutableBufferPointer { p in
        network.gradients.withUnsafeBufferPointer { g in for i in 0..<p.count { p[i] -= rate * g[i] } }
      }
      steps += 1
      accuracy = self.accuracy(network)
    }
    return (steps, accuracy)
  }
}
