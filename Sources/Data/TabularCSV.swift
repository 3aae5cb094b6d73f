import Foundation
import Tensor

/// A labelled table from a CSV file (`dataset = "csv"`): every column a numeric feature but
/// one, the label. Rows become samples shaped 1 × d × 1 (`FeatureDomain.tabular`).
///
/// - The file may be gzip-compressed. Fields are separated by commas and may be double-quoted
///   (`"a,b"`, `""` for a quote); blank lines are skipped.
/// - The first line is a header when it has a different number of fields from the second, or a
///   field that is not a number where the second line has one. Its fields name the columns only
///   when there are as many as in the data rows (scikit-learn's `breast_cancer.csv` opens with
///   `569,30,malignant,benign`, a header that names no column).
/// - Labels are the label column's distinct values, numbered in numeric order when every one is
///   a number (so 0/1 stay 0/1 and digits 0–9 stay themselves), else in byte order of the text.
/// - Every error names the file and the line: a NUL byte, invalid UTF-8, a ragged row, an
///   empty, non-numeric, NaN or infinite feature, fewer than 2 or more than 256 classes.
public enum TabularCSV {
  /// The label column: a 0-based index (negative counts from the end: −1 is the last
  /// column) or a header name.
  public enum LabelColumn: Sendable, Equatable {
    case index(Int)
    case name(String)
  }

  public struct Table: Sendable {
    /// rows × features, as written in the file.
    public let features: [Float]
    public let labels: [Int32]
    public let featureCount: Int
    /// The label text of each class index.
    public let classNames: [String]
    /// The file's column names (header present and one name per column), else nil.
    public let columns: [String]?
    public var rows: Int { labels.count }
  }

  /// The most numbers one file may hold.
  public static let maxValues = 50_000_000

  public static func parse(_ stored: [UInt8], path: String, label: LabelColumn) throws -> Table {
    let bytes = Gzip.isCompressed(stored) ? try Gzip.inflate(stored, path: path) : stored
    func fail(_ line: Int, _ message: String) -> DataError { .csv(path: path, line: line, message: message) }
    if let nul = bytes.firstIndex(of: 0) {
      throw fail(bytes[..<nul].count { $0 == 0x0A } + 1, "a NUL byte at offset \(nul): not a text file")
    }
    var lines: [(number: Int, fields: [String])] = []
    // Lines split on bytes: in a Swift String "\r\n" is one Character, not a "\n".
    for (k, raw) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      guard let text = String(validating: raw.last == 0x0D ? raw.dropLast() : raw, as: UTF8.self) else {
        throw fail(k + 1, "not valid UTF-8 text")
      }
      if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
      lines.append((k + 1, try fields(of: text[...], fail: { fail(k + 1, $0) })))
    }
    guard !lines.isEmpty else { throw fail(0, "no rows (the file is empty)") }
    var header: [String]?
    let headerLine = lines[0].number
    if lines.count > 1, isHeader(lines[0].fields, before: lines[1].fields) { header = lines.removeFirst().fields }
    guard let width = lines.first?.fields.count else { throw fail(0, "a header and no rows") }
    guard width >= 2 else { throw fail(lines[0].number, "one column: a table needs at least one feature and a label column") }
    let names = header?.count == width ? header : nil
    let labelIndex = try column(label, width: width, names: names, header: header, fail: { fail(headerLine, $0) })
    guard lines.count * width <= maxValues else { throw fail(0, "more than \(maxValues) values in the file") }
    var features: [Float] = []
    features.reserveCapacity(lines.count * (width - 1))
    var labelText: [String] = []
    for (number, row) in lines {
      guard row.count == width else {
        throw fail(number, "\(row.count) fields, but the first row has \(width); every row must have the same columns")
      }
      for (j, cell) in row.enumerated() {
        if j == labelIndex {
          guard !cell.isEmpty else { throw fail(number, "the label (column \(j + 1)) is empty") }
          labelText.append(cell)
          continue
        }
        guard !cell.isEmpty else { throw fail(number, "column \(j + 1)\(names.map { " (\($0[j]))" } ?? "") is empty: a missing value") }
        guard cell.utf8.count <= 64, let v = Float(cell) else {
          throw fail(number, "column \(j + 1)\(names.map { " (\($0[j]))" } ?? "") is '\(cell.prefix(64))', not a number")
        }
        guard v.isFinite else { throw fail(number, "column \(j + 1) is \(cell): every feature must be finite") }
        features.append(v)
      }
    }
    let (classNames, labels) = try classes(labelText, fail: { fail(lines[0].number, "label column \(labelIndex + 1): \($0)") })
    return Table(
      features: features, labels: labels, featureCount: width - 1, classNames: classNames,
      columns: names.map { n in n.enumerated().filter { $0.offset != labelIndex }.map(\.element) })
  }

  /// Splits `table` into train and test by a seeded permutation (`testFraction` of the rows, at
  /// least one, go to test; both keep file order) and standardises every feature with the
  /// training rows' mean and population standard deviation (1 where it is 0), as scikit-learn's
  /// StandardScaler does: nothing of the test rows is seen when fitting.
  public static func split(_ table: Table, testFraction: Double, seed: UInt64) throws -> Split {
    let n = table.rows, d = table.featureCount
    let testCount = min(n - 1, max(1, Int((Double(n) * testFraction).rounded())))
    guard n >= 2, testCount >= 1 else { throw DataError.invalidPartition("a train/test split needs at least 2 rows: the table has \(n)") }
    var rng = RandomStream(seed: seed, purpose: .partition, 0x7AB1E)
    let order = rng.permutation(n)
    let testRows = order[..<testCount].sorted(), trainRows = order[testCount...].sorted()
    var mean = [Double](repeating: 0, count: d), scale = [Double](repeating: 0, count: d)
    for r in trainRows { for j in 0..<d { mean[j] += Double(table.features[r * d + j]) } }
    for j in 0..<d { mean[j] /= Double(trainRows.count) }
    for r in trainRows {
      for j in 0..<d {
        let e = Double(table.features[r * d + j]) - mean[j]
        scale[j] += e * e
      }
    }
    for j in 0..<d {
      let s = (scale[j] / Double(trainRows.count)).squareRoot()
      scale[j] = s > 0 ? s : 1
    }
    func dataset(_ rows: [Int]) -> Dataset {
      var f = [Float](repeating: 0, count: rows.count * d)
      for (k, r) in rows.enumerated() {
        for j in 0..<d { f[k * d + j] = Float((Double(table.features[r * d + j]) - mean[j]) / scale[j]) }
      }
      return Dataset(
        features: f, labels: rows.map { table.labels[$0] }, shape: ImageShape(height: 1, width: d, channels: 1),
        classes: table.classNames.count, domain: .tabular)
    }
    return Split(train: dataset(trainRows), test: dataset(testRows), trainRows: trainRows, testRows: testRows, mean: mean, scale: scale)
  }

  public struct Split: Sendable {
    public let train: Dataset
    public let test: Dataset
    /// The 0-based data rows (header excluded) of each split.
    public let trainRows: [Int]
    public let testRows: [Int]
    /// The standardisation fitted on the training rows.
    public let mean: [Double]
    public let scale: [Double]
  }

  // MARK: - Parsing helpers

  /// One line's fields, unquoted and trimmed of surrounding blanks.
  static func fields(of line: Substring, fail: (String) -> DataError) throws -> [String] {
    if let bad = line.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) {
      throw fail("control character U+\(String(format: "%04X", bad.value)) in the line")
    }
    let c = Array(line)
    var out: [String] = [], i = 0
    func blank(_ k: Int) -> Bool { c[k] == " " || c[k] == "\t" }
    while true {
      while i < c.count, blank(i) { i += 1 }
      var field = ""
      if i < c.count, c[i] == "\"" {
        i += 1
        while true {
          guard i < c.count else { throw fail("an unclosed quote in field \(out.count + 1)") }
          if c[i] == "\"" {
            if i + 1 < c.count, c[i + 1] == "\"" { field.append("\""); i += 2; continue }
            i += 1; break
          }
          field.append(c[i]); i += 1
        }
        while i < c.count, blank(i) { i += 1 }
        guard i == c.count || c[i] == "," else { throw fail("text after the closing quote of field \(out.count + 1)") }
      } else {
        while i < c.count, c[i] != "," { field.append(c[i]); i += 1 }
        field = field.trimmingCharacters(in: .whitespaces)
      }
      out.append(field)
      guard i < c.count else { return out }
      i += 1  // the comma
    }
  }

  static func isHeader(_ first: [String], before second: [String]) -> Bool {
    func text(_ f: String) -> Bool { !f.isEmpty && Float(f) == nil }
    if first.count != second.count { return first.contains(where: text) }
    return zip(first, second).contains { text($0) && Float($1) != nil }
  }

  static func column(_ label: LabelColumn, width: Int, names: [String]?, header: [String]?, fail: (String) -> DataError) throws -> Int {
    switch label {
    case let .index(i):
      let j = i < 0 ? width + i : i
      guard (0..<width).contains(j) else {
        throw fail("label_column = \(i) is outside the file's \(width) columns (0…\(width - 1), or −1 for the last)")
      }
      return j
    case let .name(name):
      guard let names else {
        throw fail(
          header == nil
            ? "label_column = \"\(name)\" needs a header line naming the columns; this file has none: give the column's index instead"
            : "label_column = \"\(name)\": the header has \(header!.count) fields for \(width) columns, so it names none; give the column's index instead"
        )
      }
      guard let j = names.firstIndex(of: name) else {
        throw fail(
          "label_column = \"\(name)\" is not a column; the header names \(names.prefix(12).joined(separator: ", "))\(names.count > 12 ? ", …" : "")"
        )
      }
      return j
    }
  }

  /// Class names in order and each row's class index.
  static func classes(_ text: [String], fail: (String) -> DataError) throws -> ([String], [Int32]) {
    let distinct = Set(text)
    guard distinct.count >= 2 else { throw fail("one distinct label (\(text.first ?? "")): classification needs at least 2 classes") }
    guard distinct.count <= 256 else {
      throw fail("\(distinct.count) distinct labels: at most 256 classes are supported (is this column a regression target?)")
    }
    if distinct.allSatisfy({ Double($0)?.isFinite == true }) {
      // Numbers: one class per value ("1" and "1.0" are one class), in numeric order.
      var firstText: [Double: String] = [:]
      for t in text where firstText[Double(t)!] == nil { firstText[Double(t)!] = t }
      let values = firstText.keys.sorted()
      guard values.count >= 2 else { throw fail("one distinct label (\(text[0])): classification needs at least 2 classes") }
      let index = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, Int32($0)) })
      return (values.map { firstText[$0]! }, text.map { index[Double($0)!]! })
    }
    let names = distinct.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
    return (names, text.map { index[$0]! })
  }
}
