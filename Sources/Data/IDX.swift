import Foundation

/// The IDX file format of MNIST and Fashion-MNIST (LeCun et al.): a 4-byte magic
/// `00 00 <type> <rank>`, `rank` big-endian UInt32 dimensions, then the data.
/// ByzSim reads unsigned-byte IDX files (type 0x08): labels (rank 1) and images (rank 3).
public struct IDXArray: Sendable, Equatable {
  public let dimensions: [Int]
  public let bytes: [UInt8]

  /// Parses raw (already inflated) IDX bytes, validating magic, rank and length.
  /// - expectedRank: 1 for labels, 3 for images.
  public init(parsing data: [UInt8], path: String, expectedRank: Int) throws {
    guard data.count >= 4 else {
      throw DataError.truncated(path: path, expectedBytes: 4 + 4 * expectedRank, foundBytes: data.count)
    }
    let expectedMagic = String(format: "00 00 08 %02x", expectedRank)
    let foundMagic = data[0..<4].map { String(format: "%02x", $0) }.joined(separator: " ")
    guard data[0] == 0, data[1] == 0, data[2] == 0x08, Int(data[3]) == expectedRank else {
      throw DataError.badMagic(path: path, expected: expectedMagic, found: foundMagic)
    }
    let headerLength = 4 + 4 * expectedRank
    guard data.count >= headerLength else {
      throw DataError.truncated(path: path, expectedBytes: headerLength, foundBytes: data.count)
    }
    var dims: [Int] = []
    var total = 1
    for r in 0..<expectedRank {
      let o = 4 + 4 * r
      let d = Int(data[o]) << 24 | Int(data[o + 1]) << 16 | Int(data[o + 2]) << 8 | Int(data[o + 3])
      dims.append(d)
      let (product, overflow) = total.multipliedReportingOverflow(by: d)
      guard !overflow, product <= 1 << 34 else {
        throw DataError.shapeMismatch(path: path, expected: "a plausible size", found: "dimensions \(dims)")
      }
      total = product
    }
    let expected = headerLength + total
    if data.count < expected {
      throw DataError.truncated(path: path, expectedBytes: expected, foundBytes: data.count)
    }
    if data.count > expected {
      throw DataError.trailingBytes(path: path, expectedBytes: expected, foundBytes: data.count)
    }
    dimensions = dims
    bytes = Array(data[headerLength...])
  }
}
