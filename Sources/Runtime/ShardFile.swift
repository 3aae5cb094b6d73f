import Data
import Tensor

/// One worker's training shard on disk: "BZSH", version, count, height, width, channels,
/// classes, then labels (1 byte each) and the features. Version 1 (images): pixels, 1 byte
/// each, value·255. Version 2 (tabular rows): the features as little-endian Float32, each
/// finite. A worker process loads only its own shard.
enum ShardFile {
  static func encode(_ d: Dataset) -> [UInt8] {
    var w = BinaryWriter()
    w.magic("BZSH"); w.u32(d.domain == .image ? 1 : 2)
    w.u32(UInt32(d.count)); w.u32(UInt32(d.shape.height)); w.u32(UInt32(d.shape.width)); w.u32(UInt32(d.shape.channels))
    w.u32(UInt32(d.classes))
    w.raw(d.labels.map { UInt8($0) })
    switch d.domain {
    // Pixels came from bytes /255, so ·255 rounds back exactly.
    case .image: w.raw(bytes(pixels: d.features))
    case .tabular: d.features.withUnsafeBytes { w.raw(Array($0)) }  // little-endian hosts only (x86-64, arm64)
    }
    return w.bytes
  }

  /// Each pixel ·255 rounded half away from zero (what `.rounded()` does) without a call to
  /// libm's roundf per pixel (the baseline x86-64 build has no rounding instruction; 47 million
  /// calls were a tenth of a one-round run's CPU): the truncation, plus one when the fraction
  /// is at least a half (exact: x − trunc(x) is exact below 2²³). Out of 0...255 traps, as before.
  static func bytes(pixels: [Float]) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: pixels.count) { out, written in
      pixels.withUnsafeBufferPointer { p in
        for i in 0..<p.count {
          let x = p[i] * 255
          let whole = Int32(x)  // truncates (cvttss2si: no libm call)
          out[i] = UInt8(whole + (x - Float(whole) >= 0.5 ? 1 : 0))
        }
      }
      written = pixels.count
    }
  }

  static func decode(_ bytes: [UInt8], path: String) throws -> Dataset {
    let c = try decodeCompact(bytes, path: path)
    return c.materialize(0..<c.count)
  }

  /// The shard as a worker keeps it in memory (bytes for images, Float32 for tabular rows).
  static func decodeCompact(_ bytes: [UInt8], path: String) throws -> CompactDataset {
    var r = BinaryReader(bytes, path: path)
    try r.magic("BZSH")
    let version = try r.u32("the version")
    guard version == 1 || version == 2 else { throw r.fail("unsupported shard version \(version) (1: images, 2: tabular rows)") }
    let n = Int(try r.u32("the count")), h = Int(try r.u32("the height")), w = Int(try r.u32("the width"))
    let c = Int(try r.u32("the channels")), classes = Int(try r.u32("the classes"))
    guard (1...4096).contains(h), (1...1 << 20).contains(w), (1...4096).contains(c), (1...256).contains(classes), h * w * c <= 1 << 20
    else {
      throw r.fail("implausible shape \(h)×\(w)×\(c), \(classes) classes")
    }
    let labels = try r.take(n, "the labels").map { Int32($0) }
    guard labels.allSatisfy({ $0 < Int32(classes) }) else { throw r.fail("a label is outside 0..<\(classes)") }
    let shape = ImageShape(height: h, width: w, channels: c)
    if version == 1 {
      let pixels = try r.take(n * h * w * c, "the pixels")
      try r.finish()
      return CompactDataset(pixels: Array(pixels), labels: labels, shape: shape, classes: classes)
    }
    let (count, overflow) = n.multipliedReportingOverflow(by: shape.size * 4)
    guard !overflow else { throw r.fail("implausible count \(n)") }
    let raw = try r.take(count, "the features")
    try r.finish()
    var values = [Float](repeating: 0, count: n * shape.size)
    values.withUnsafeMutableBytes { dst in raw.withUnsafeBytes { dst.copyMemory(from: $0) } }  // the slice may be unaligned
    guard values.allSatisfy(\.isFinite) else { throw r.fail("a feature is NaN or infinite") }
    return CompactDataset(values: values, labels: labels, shape: shape, classes: classes)
  }
}
