import Foundation
import Tensor

/// Loads MNIST-style IDX datasets (Fashion-MNIST by default) from a directory holding
/// `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`
/// and `t10k-labels-idx1-ubyte[.gz]`. Pixels become Float32 in [0, 1]; every file's SHA-256
/// is returned for the provenance manifest.
public enum FashionMNIST {
  /// Where Debian's `dataset-fashion-mnist` package installs the files.
  public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
  public static let classes = 10
  public static let classNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  public enum Split: String, Sendable, CaseIterable {
    case train, test
    public var filePrefix: String { self == .train ? "train" : "t10k" }
  }

  /// A loaded split and the digests of the files it came from.
  public typealias Loaded = LoadedSplit

  /// Loads one split from `directory`, accepting plain or gzip-compressed files.
  public static func load(_ split: Split, directory: String = defaultDirectory) throws -> Loaded {
    let imagesPath = try locate("\(split.filePrefix)-images-idx3-ubyte", in: directory)
    let labelsPath = try locate("\(split.filePrefix)-labels-idx1-ubyte", in: directory)
    return try load(imagesPath: imagesPath, labelsPath: labelsPath, classes: classes)
  }

  /// Loads an images/labels IDX pair, validating every field.
  public static func load(imagesPath: String, labelsPath: String, classes: Int) throws -> Loaded {
    let (imageBytes, imageDigest) = try readMaybeCompressed(imagesPath)
    let (labelBytes, labelDigest) = try readMaybeCompressed(labelsPath)
    let images = try IDXArray(parsing: imageBytes, path: imagesPath, expectedRank: 3)
    let labels = try IDXArray(parsing: labelBytes, path: labelsPath, expectedRank: 1)
    let n = images.dimensions[0], h = images.dimensions[1], w = images.dimensions[2]
    guard h > 0, w > 0 else {
      throw DataError.shapeMismatch(path: imagesPath, expected: "images of at least 1×1 pixels", found: "\(h)×\(w)")
    }
    guard labels.dimensions[0] == n else {
      throw DataError.countMismatch(imagesPath: imagesPath, images: n, labelsPath: labelsPath, labels: labels.dimensions[0])
    }
    var ints = [Int32](repeating: 0, count: n)
    for (i, l) in labels.bytes.enumerated() {
      guard Int(l) < classes else {
        throw DataError.labelOutOfRange(path: labelsPath, index: i, label: Int(l), classes: classes)
      }
      ints[i] = Int32(l)
    }
    let features = [Float](unsafeUninitializedCapacity: images.bytes.count) { buf, initialized in
      images.bytes.withUnsafeBufferPointer { src in
        for i in 0..<src.count { buf[i] = Float(src[i]) / 255 }
      }
      initialized = images.bytes.count
    }
    let dataset = Dataset(features: features, labels: ints, shape: ImageShape(height: h, width: w, channels: 1), classes: classes)
    return Loaded(dataset: dataset, files: [imageDigest, labelDigest])
  }

  /// `base.gz` if present, else `base`; a clear error naming both if neither exists.
  public static func locate(_ base: String, in directory: String) throws -> String {
    let fm = FileManager.default
    let gz = (directory as NSString).appendingPathComponent(base + ".gz")
    let plain = (directory as NSString).appendingPathComponent(base)
    if fm.fileExists(atPath: gz) { return gz }
    if fm.fileExists(atPath: plain) { return plain }
    var isDirectory: ObjCBool = false
    let reason =
      fm.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue
      ? "neither \(base).gz nor \(base) is in that directory"
      : "the directory does not exist"
    throw DataError.unreadable(path: gz, reason: reason)
  }

  /// The file's bytes (inflated if gzip) and the digest of the bytes as stored.
  static func readMaybeCompressed(_ path: String) throws -> ([UInt8], FileDigest) {
    let raw: [UInt8]
    do {
      raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    } catch {
      throw DataError.unreadable(path: path, reason: (error as NSError).localizedDescription)
    }
    let digest = FileDigest(path: path, contents: raw)
    let bytes = Gzip.isCompressed(raw) ? try Gzip.inflate(raw, path: path) : raw
    return (bytes, digest)
  }
}
