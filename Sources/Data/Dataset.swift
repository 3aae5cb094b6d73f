import Tensor

/// Labelled samples in one flat Float32 buffer: `features` is (count, shape.size) row-major,
/// each sample an NHWC image with values in [0, 1]; `labels` are class indices in 0..<classes.
public struct Dataset: Sendable {
  public var features: [Float]
  public var labels: [Int32]
  public let shape: ImageShape
  public let classes: Int

  public init(features: [Float], labels: [Int32], shape: ImageShape, classes: Int) {
    precondition(
      features.count == labels.count * shape.size,
      "features hold \(features.count) floats, expected \(labels.count) × \(shape.size)")
    self.features = features
    self.labels = labels
    self.shape = shape
    self.classes = classes
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
    return Dataset(features: f, labels: l, shape: shape, classes: classes)
  }

  /// The first `n` samples (or all, if fewer).
  public func prefix(_ n: Int) -> Dataset { subset(Array(0..<min(n, count))) }

  /// How many samples of each class: an array of `classes` counts.
  public var labelHistogram: [Int] {
    var h = [Int](repeating: 0, count: classes)
    for l in labels { h[Int(l)] += 1 }
    return h
  }
}
