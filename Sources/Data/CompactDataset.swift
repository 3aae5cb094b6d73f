import Tensor

/// Labelled samples as a worker keeps them. Images are kept as bytes (one per pixel, value =
/// round(255·x)): a quarter of the memory of `Dataset`, Float32 materialised only for the
/// samples of the current batch. Tabular rows have no byte form and are kept as Float32
/// (`values`; `pixels` is then empty).
public struct CompactDataset: Sendable {
  public let pixels: [UInt8]
  /// Tabular features (count × shape.size), empty for images.
  public let values: [Float]
  public let labels: [Int32]
  public let shape: ImageShape
  public let classes: Int
  public let domain: FeatureDomain

  public init(pixels: [UInt8], labels: [Int32], shape: ImageShape, classes: Int) {
    precondition(pixels.count == labels.count * shape.size, "pixels hold \(pixels.count) bytes, expected \(labels.count) × \(shape.size)")
    self.pixels = pixels; self.values = []; self.domain = .image; self.labels = labels; self.shape = shape; self.classes = classes
  }

  /// Tabular rows, kept as they are.
  public init(values: [Float], labels: [Int32], shape: ImageShape, classes: Int) {
    precondition(values.count == labels.count * shape.size, "values hold \(values.count) floats, expected \(labels.count) × \(shape.size)")
    self.pixels = []; self.values = values; self.domain = .tabular; self.labels = labels; self.shape = shape; self.classes = classes
  }

  /// Quantises an image Dataset whose pixels are multiples of 1/255 (as IDX ingestion
  /// produces): exact. A tabular Dataset is kept as Float32.
  public init(_ d: Dataset) {
    switch d.domain {
    case .image:
      self.init(pixels: d.features.map { UInt8(($0 * 255).rounded()) }, labels: d.labels, shape: d.shape, classes: d.classes)
    case .tabular:
      self.init(values: d.features, labels: d.labels, shape: d.shape, classes: d.classes)
    }
  }

  public var count: Int { labels.count }

  /// The samples at `indices`, still compact (a logical client's shard of a pool's training set).
  public func subset(_ indices: [Int]) -> CompactDataset {
    let d = shape.size
    let l = indices.map { labels[$0] }
    if domain == .tabular {
      var v = [Float](); v.reserveCapacity(indices.count * d)
      for i in indices { v.append(contentsOf: values[(i * d)..<((i + 1) * d)]) }
      return CompactDataset(values: v, labels: l, shape: shape, classes: classes)
    }
    var p = [UInt8](); p.reserveCapacity(indices.count * d)
    for i in indices { p.append(contentsOf: pixels[(i * d)..<((i + 1) * d)]) }
    return CompactDataset(pixels: p, labels: l, shape: shape, classes: classes)
  }

  /// The samples at `indices` as a Float32 `Dataset` (pixels / 255, exactly as ingestion does;
  /// tabular values as stored).
  public func materialize<C: Collection>(_ indices: C) -> Dataset where C.Element == Int {
    let d = shape.size
    var f = [Float](repeating: 0, count: indices.count * d)
    var l = [Int32](repeating: 0, count: indices.count)
    let tabular = domain == .tabular
    f.withUnsafeMutableBufferPointer { dst in
      if tabular {
        values.withUnsafeBufferPointer { src in
          for (k, i) in indices.enumerated() {
            (dst.baseAddress! + k * d).update(from: src.baseAddress! + i * d, count: d)
            l[k] = labels[i]
          }
        }
      } else {
        pixels.withUnsafeBufferPointer { src in
          for (k, i) in indices.enumerated() {
            let s = src.baseAddress! + i * d, t = dst.baseAddress! + k * d
            for j in 0..<d { t[j] = Float(s[j]) / 255 }
            l[k] = labels[i]
          }
        }
      }
    }
    return Dataset(features: f, labels: l, shape: shape, classes: classes, domain: tabular ? .tabular : .image)
  }
}
