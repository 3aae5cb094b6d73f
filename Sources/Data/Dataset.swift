import Foundation
import Tensor

/// What a sample's features are: image pixels in [0, 1] that came from bytes (IDX files; exact
/// as multiples of 1/255), or tabular values of any finite size (a CSV file's standardised
/// columns, shaped 1 × d × 1). Triggers, covert channels that hide pixels and PGD's [0, 1] box
/// only make sense on images.
public enum FeatureDomain: String, Sendable, Codable, Equatable {
  case image, tabular
}

/// Labelled samples in one flat Float32 buffer: `features` is (count, shape.size) row-major,
/// each sample an NHWC image with values in [0, 1] (or a tabular row, see `domain`); `labels`
/// are class indices in 0..<classes.
public struct Dataset: Sendable {
  public var features: [Float]
  public var labels: [Int32]
  public let shape: ImageShape
  public let classes: Int
  public let domain: FeatureDomain

  public init(features: [Float], labels: [Int32], shape: ImageShape, classes: Int, domain: FeatureDomain = .image) {
    precondition(
      features.count == labels.count * shape.size,
      "features hold \(features.count) floats, expected \(labels.count) × \(shape.size)")
    self.features = features
    self.labels = labels
    self.shape = shape
    self.classes = classes
    self.domain = domain
  }

  public var count: Int { labels.count }

  /// The samples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    let d = shape.size
    var f = [Float](repeating: 0, count: indices.count * d)
    var l = [Int32](repeating: 0, count: indices.count)
    features.withUnsafeBufferPointer { src in
      f.withUnsafeMutableBufferPointer { dst in
        for (k, i) in indices.enumerated() {
          (dst.baseAddress! + k * d).update(from: src.baseAddress! + i * d, count: d)
          l[k] = labels[i]
        }
      }
    }
    return Dataset(features: f, labels: l, shape: shape, classes: classes, domain: domain)
  }

  /// The first `n` samples (or all, if fewer).
  public func prefix(_ n: Int) -> Dataset { subset(Array(0..<min(n, count))) }

  /// A long-tailed subset (Karimireddy, He & Jaggi 2022, ICLR, the imbalanced MNIST of their
  /// Table 1; their code's `NONIIDLTSampler` with β = 0.5): class i keeps only the first
  /// ⌊nᵢ·βⁱ⌋ of its nᵢ samples, in file order. β = 1 keeps everything; Fashion-MNIST's 6,000 per
  /// class at β = 0.5 become 6,000, 3,000, 1,500, …, 11.
  public func longTailed(beta: Double) -> Dataset {
    precondition(beta > 0 && beta <= 1, "long tail β must be in (0, 1]: got \(beta)")
    let keep = labelHistogram.enumerated().map { c, n in Int((Double(n) * pow(beta, Double(c))).rounded(.down)) }
    var taken = [Int](repeating: 0, count: classes)
    var indices: [Int] = []
    for (i, l) in labels.enumerated() where taken[Int(l)] < keep[Int(l)] {
      taken[Int(l)] += 1
      indices.append(i)
    }
    return subset(indices)
  }

  /// How many samples of each class: an array of `classes` counts.
  public var labelHistogram: [Int] {
    var h = [Int](repeating: 0, count: classes)
    for l in labels { h[Int(l)] += 1 }
    return h
  }
}
