import Foundation

/// Reads an n×d CSV of numbers (one row per line, no header): the update files of
/// `byzsim aggregate`. Every malformed input is an error naming the file and the line — a NUL
/// or any other control byte, invalid UTF-8, a field that is not a number, ragged rows, an
/// empty file, or more than `maxValues` numbers. Values themselves are not judged here (NaN and
/// ±Inf parse; the update screen rejects them with a reason).
public enum CSVMatrix {
  /// The most numbers one file may hold (2 GB of Float32).
  public static let maxValues = 500_000_000

  public struct Error: Swift.Error, Equatable, CustomStringConvertible {
    public let path: String
    public let line: Int
    public let message: String
    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
  }

  public static func parse(_ bytes: [UInt8], path: String) throws -> [[Float]] {
    if let nul = bytes.firstIndex(of: 0) {
      throw Error(path: path, line: bytes[..<nul].count { $0 == 0x0A } + 1, message: "a NUL byte at offset \(nul): not a text file")
    }
    guard String(validating: bytes, as: UTF8.self) != nil else { throw Error(path: path, line: 0, message: "not valid UTF-8 text") }
    var rows: [[Float]] = []
    var values = 0
    // Lines split on bytes: in a Swift String "\r\n" is one Character, which "\n" would not split.
    for (k, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      let number = k + 1
      let line = String(decoding: raw.last == 0x0D ? raw.dropLast() : raw, as: UTF8.self)
      if let bad = line.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\r" || $0.value == 0x7F }) {
        throw Error(path: path, line: number, message: "control character U+\(String(format: "%04X", bad.value)) in the line")
      }
      let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if text.isEmpty { continue }
      var row: [Float] = []
      for (j, cell) in text.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
        let c = cell.trimmingCharacters(in: .whitespaces)
        guard c.utf8.count <= 64, let v = Float(c) else {
          throw Error(path: path, line: number, message: "column \(j + 1) is '\(c.prefix(64))', not a number")
        }
        row.append(v)
      }
      if let first = rows.first, first.count != row.count {
        throw Error(
          path: path, line: number,
          message: "\(row.count) values, but the first row has \(first.count); every update must have the same length")
      }
      values += row.count
      guard values <= maxValues else { throw Error(path: path, line: number, message: "more than \(maxValues) numbers in the file") }
      rows.append(row)
    }
    guard !rows.isEmpty else { throw Error(path: path, line: 0, message: "no updates (the file is empty)") }
    return rows
  }
}
