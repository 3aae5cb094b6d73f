import Tensor

/// Labelled images kept as bytes (one per pixel, value = round(255·x)): a quarter of the
/// memory of `Dataset`. A worker holds its shard this way and materialises Float32 only
/// for the samples of the current batch.
public struct CompactDataset: Sendable {
  public let pixels: [UInt8]
  public let labels: [Int32]
  public let shape: ImageShape
  public let classes: Int

  public init(pixels: [UInt8], labels: [Int32], shape: ImageShape, classes: Int) {
    precondition(pixels.count == labels.count * shape.size, "pixels hold \(pixels.count) bytes, expected \(labels.count) × \(shape.size)")
    self.pixels = pixels; self.labels = labels; self.shape = shape; self.classes = classes
  }

  /// Quantises a Dataset whose pixels are multiples of 1/255 (as IDX ingestion produces): exact.
  public init(_ d: Dataset) {
    self.init(pixels: d.features.map { UInt8(($0 * 255).rounded()) }, labels: d.labels, shape: d.shape, classes: d.classes)
  }

  public var count: Int { labels.count }

  /// The samples at `indices` as a Float32 `Dataset` (pixels / 255, exactly as ingestion does).
  public func materialize<C: Collection>(_ indices: C) -> Dataset where C.Element == Int {
    let d = shape.size
    var f = [Float](repeating: 0, count: indices.count * d)
    var l = [Int32](repeating: 0, count: indices.count)
    pixels.withUnsafeBufferPointer { src in
      f.withUnsafeMutableBufferPointer { dst in
        for (k, i) in indices.enumerated() {
          let s = src.baseAddress! + i * d, t = dst.baseAddress! + k * d
          for j in 0..<d { t[j] = Float(s[j]) / 255 }
          l[k] = labels[i]
        }
      }
    }
    return Dataset(features: f, labels: l, shape: shape, classes: classes)
  }
}
