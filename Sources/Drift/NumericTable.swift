import Foundation

/// A CSV of numbers: one observation per row, one feature per column, an optional header row
/// (a first row that is not all numbers). Every value must be finite; every row as long as the
/// first; errors name the file, the line and the column.
public struct NumericTable: Sendable {
  public let path: String
  public let header: [String]?
  public let rows: [[Double]]
  public var columns: Int { rows.first?.count ?? 0 }

  public struct Invalid: Error, CustomStringConvertible {
    public let description: String
  }

  public init(path: String, header: [String]?, rows: [[Double]]) {
    self.path = path
    self.header = header
    self.rows = rows
  }

  public static func read(_ path: String) throws -> NumericTable {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw Invalid(description: "\(path): cannot be read (\((error as NSError).localizedDescription))")
    }
    guard let text = String(data: data, encoding: .utf8) else { throw Invalid(description: "\(path): not UTF-8 text") }
    var header: [String]?
    var rows: [[Double]] = []
    for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
      if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      let numbers = fields.map { Double($0) }
      if rows.isEmpty && header == nil && numbers.contains(where: { $0 == nil }) {
        header = fields
        continue
      }
      if let expected = rows.first?.count ?? header?.count, fields.count != expected {
        throw Invalid(description: "\(path):\(index + 1): \(fields.count) columns; the file's first row has \(expected)")
      }
      var row: [Double] = []
      row.reserveCapacity(fields.count)
      for (column, (field, number)) in zip(fields, numbers).enumerated() {
        guard let v = number else { throw Invalid(description: "\(path):\(index + 1), column \(column + 1): '\(field)' is not a number") }
        guard v.isFinite else { throw Invalid(description: "\(path):\(index + 1), column \(column + 1): \(field) is not finite") }
        row.append(v)
      }
      rows.append(row)
    }
    guard !rows.isEmpty else { throw Invalid(description: "\(path): no observations (rows of numbers)") }
    return NumericTable(path: path, header: header, rows: rows)
  }

  public func column(_ j: Int) -> [Double] { rows.map { $0[j] } }

  /// Every column (column-major), as the per-feature detectors take them.
  public var columnMajor: [[Double]] { (0..<columns).map(column) }
}
