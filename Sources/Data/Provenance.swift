import Crypto
import Foundation

/// The SHA-256 of one input file as it was read (compressed bytes, before inflating).
public struct FileDigest: Sendable, Codable, Equatable {
  public let path: String
  public let bytes: Int
  public let sha256: String

  public init(path: String, contents: [UInt8]) {
    self.path = path
    bytes = contents.count
    sha256 = Provenance.sha256Hex(contents)
  }
}

/// Data provenance: which files fed a run, and digests of the shards derived from them.
public struct ProvenanceManifest: Sendable, Codable, Equatable {
  public var files: [FileDigest] = []
  /// SHA-256 of each worker's shard (features then labels, little-endian), by worker index.
  public var shards: [String] = []

  public init(files: [FileDigest] = [], shards: [String] = []) {
    self.files = files
    self.shards = shards
  }

  /// Pretty-printed, key-sorted JSON (stable across runs).
  public func jsonData() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }
}

public enum Provenance {
  public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(sha256(bytes)) }

  /// The 32 raw bytes of the SHA-256 of `bytes`.
  public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

  /// Lower-case hex of `bytes`.
  public static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
  }

  /// SHA-256 over a dataset's features (raw little-endian Float32) then labels (Int32).
  public static func digest(of dataset: Dataset) -> String {
    var hasher = SHA256()
    dataset.features.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    dataset.labels.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }
}
