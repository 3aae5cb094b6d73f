import Data
import Tensor

/// One worker's training shard on disk: "BZSH", version, count, height, width, channels,
/// classes, then labels (1 byte each) and pixels (1 byte each, value·255). A worker process
/// loads only its own shard.
enum ShardFile {
  static func encode(_ d: Dataset) -> [UInt8] {
    var w = BinaryWriter()
    w.magic("BZSH"); w.u32(1)
    w.u32(UInt32(d.count)); w.u32(UInt32(d.shape.height)); w.u32(UInt32(d.shape.width)); w.u32(UInt32(d.shape.channels))
    w.u32(UInt32(d.classes))
    w.raw(d.labels.map { UInt8($0) })
    // Pixels came from bytes /255, so ·255 rounds back exactly.
    w.raw(d.features.map { UInt8(($0 * 255).rounded()) })
    return w.bytes
  }

  static func decode(_ bytes: [UInt8], path: String) throws -> Dataset {
    let c = try decodeCompact(bytes, path: path)
    return c.materialize(0..<c.count)
  }

  /// The shard as bytes (what a worker keeps in memory).
  static func decodeCompact(_ bytes: [UInt8], path: String) throws -> CompactDataset {
    var r = BinaryReader(bytes, path: path)
    try r.magic("BZSH")
    guard try r.u32("the version") == 1 else { throw r.fail("unsupported shard version") }
    let n = Int(try r.u32("the count")), h = Int(try r.u32("the height")), w = Int(try r.u32("the width"))
    let c = Int(try r.u32("the channels")), classes = Int(try r.u32("the classes"))
    guard (1...4096).contains(h), (1...4096).contains(w), (1...4096).contains(c), (1...256).contains(classes), h * w * c <= 1 << 20 else {
      throw r.fail("implausible shape \(h)×\(w)×\(c), \(classes) classes")
    }
    let labels = try r.take(n, "the labels").map { Int32($0) }
    guard labels.allSatisfy({ $0 < Int32(classes) }) else { throw r.fail("a label is outside 0..<\(classes)") }
    let pixels = try r.take(n * h * w * c, "the pixels")
    try r.finish()
    return CompactDataset(pixels: Array(pixels), labels: labels, shape: ImageShape(height: h, width: w, channels: c), classes: classes)
  }
}
