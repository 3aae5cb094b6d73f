import Foundation
import Runtime

/// The results tables experiment scripts write (one header line, comma-separated fields, no
/// quoting), read by `byzsim report`.
enum ResultsCSV {
  /// The rows of a CSV file with exactly `header` (nil: no such file, or another header).
  static func rows(_ file: String, header: [String]) throws -> [[String: String]]? {
    guard let data = FileManager.default.contents(atPath: file) else { return nil }
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map {
      $0.split(separator: ",", omittingEmptySubsequences: false)
    }
    guard let first = lines.first, first.map(String.init) == header else { return nil }
    var rows: [[String: String]] = []
    for (k, line) in lines.dropFirst().enumerated() {
      guard line.count == header.count else {
        throw RuntimeError("\(file): line \(k + 2) has \(line.count) fields; the header has \(header.count)")
      }
      rows.append(Dictionary(uniqueKeysWithValues: zip(header, line.map(String.init))))
    }
    guard !rows.isEmpty else { throw RuntimeError("\(file): no results below the header") }
    return rows
  }
}
