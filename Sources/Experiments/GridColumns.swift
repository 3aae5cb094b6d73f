import Foundation
import TOML

/// How a sweep's grid values become table columns and labels (results.csv, summary.csv,
/// cell.json, figure labels), the same way everywhere:
///
/// - a string, number or boolean is one column named by its grid key, holding the plain value
///   (`sign_flip`, not `"sign_flip"`);
/// - a table is split: the grid key's column holds its `name` (or `kind`), and every other entry
///   gets a column `KEY.ENTRY` (`coordinator.aggregator` = `trimmed_mean`,
///   `coordinator.aggregator.f` = `3`); cells whose value lacks an entry leave it empty;
/// - an array stays one column, as TOML (`[1, 2]`).
public enum GridColumns {
  /// The (column, value) pairs one grid value spreads over; nil values are empty cells.
  public static func split(_ key: String, _ value: TOMLValue?) -> [(column: String, value: TOMLValue?)] {
    guard case let .table(t)? = value else { return [(key, value)] }
    let head = t.keys.first { $0 == "name" } ?? t.keys.first { $0 == "kind" }
    return [(key, head.flatMap { t[$0]?.value })] + t.keys.filter { $0 != head }.map { ("\(key).\($0)", t[$0]?.value) }
  }

  /// Every column of a spec's grid, in grid order, each key's parameters in first-seen order.
  public static func columns(_ spec: SweepSpec) -> [String] {
    var out: [String] = []
    for key in spec.gridKeys {
      out.append(key)
      for cell in spec.cells {
        for (column, _) in split(key, cell.grid.first { $0.0 == key }?.1) where !out.contains(column) { out.append(column) }
      }
    }
    return out
  }

  /// A cell's value of every column (nil: the cell leaves it unset).
  public static func values(_ cell: SweepSpec.Cell, columns: [String]) -> [TOMLValue?] {
    var byColumn: [String: TOMLValue] = [:]
    for (key, value) in cell.grid {
      for (column, v) in split(key, value) { if let v { byColumn[column] = v } }
    }
    return columns.map { byColumn[$0] }
  }

  /// A value as a CSV field's text: plain strings and numbers (Python's float() reads them).
  public static func text(_ value: TOMLValue?) -> String {
    switch value {
    case nil: return ""
    case let .string(s)?: return s
    case let .integer(i)?: return String(i)
    case let .float(x)?: return "\(x)"
    case let .boolean(b)?: return b ? "true" : "false"
    case let v?: return v.rendered
    }
  }

  /// A value in words, for labels: `trimmed_mean f=3`, `alie`, `0.5`; an array in words item by
  /// item joined by " + " (`bucketing s=2 + nnm`), an empty one `none`.
  public static func label(_ value: TOMLValue?) -> String {
    if case let .array(items)? = value { return items.isEmpty ? "none" : items.map { label($0.value) }.joined(separator: " + ") }
    guard case .table = value else { return text(value) }
    let parts = split("", value)
    let head = text(parts[0].value)
    let rest = parts.dropFirst().map { "\($0.column.dropFirst())=\(text($0.value))" }
    return ([head].filter { !$0.isEmpty } + rest).joined(separator: " ")
  }

  /// A cell in words: the labels of the grid values it sets joined by " · "
  /// (`trimmed_mean f=3 · alie`); a key the cell leaves unset adds nothing.
  public static func label(_ cell: SweepSpec.Cell) -> String {
    let words = cell.grid.map { label($0.1) }.filter { !$0.isEmpty }
    return words.isEmpty ? "base" : words.joined(separator: " · ")
  }
}
