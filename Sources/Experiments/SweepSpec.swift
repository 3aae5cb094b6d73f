import Foundation
import Runtime
import TOML

/// A sweep file (experiments/*.sweep.toml):
///
///     name = "tm-attacks"
///     base = "attacks/tm-none.toml"     # the base topology, relative to this file
///     seeds = [1, 2, 3]
///     [set]                              # overrides applied to every cell
///     rounds = 50
///     [grid]                             # key path → values; the cells are their product
///     "coordinator.aggregator" = ["mean", { name = "trimmed_mean", f = 3 }]
///     "workers[1].behavior" = ["sign_flip", "alie"]
///
/// Every cell × seed is validated as a topology up front, so a bad grid value fails before any
/// run starts, naming the sweep file, the grid key and its line.
public struct SweepSpec: Sendable {
  public struct Cell: Sendable {
    public let id: String
    /// Grid key → the value's TOML rendering, in grid order.
    public let values: [(String, String)]
    /// Grid key → the value itself (nil for a key this cell of a [[cells]] list leaves unset).
    public let grid: [(String, TOMLValue?)]
    /// Seed → the resolved topology.
    public let topologies: [(UInt64, Topology)]
  }

  public let name: String
  public let file: String
  public let baseFile: String
  public let seeds: [UInt64]
  public let gridKeys: [String]
  public let cells: [Cell]
  /// The `--set` and `--seeds` this spec was built with.
  public let commandLine: CommandLine
  /// What every cell sets on the base topology before its grid values: the file's [set] (and,
  /// scaled down, [quick]) entries, then the command line's `--set`s, in order.
  public let fixed: [(String, TOMLValue)]

  /// The `byzsim run` that reruns one cell with one seed on its own: the base topology with the
  /// fixed overrides, the cell's grid values, its seed and name as `--set`s (nil: no such cell).
  public func rerunCommand(cell id: String, seed: UInt64) -> String? {
    guard let cell = cells.first(where: { $0.id == id }) else { return nil }
    let sets =
      fixed + cell.grid.compactMap { k, v in v.map { (k, $0) } }
      + [("seed", .integer(Int64(seed))), ("name", .string("\(name)-\(id)-s\(seed)"))]
    let words = ["byzsim", "run", baseFile] + sets.flatMap { ["--set", "\($0.0)=\(Self.commandLineValue($0.1))"] }
    return words.map(Self.shellQuoted).joined(separator: " ")
  }

  /// A value as `--set` reads it back: a plain word bare, anything else as TOML.
  static func commandLineValue(_ v: TOMLValue) -> String {
    if case let .string(s) = v, s.range(of: "^[A-Za-z_][A-Za-z0-9_-]*$", options: .regularExpression) != nil,
      !["true", "false", "inf", "nan"].contains(s)
    {
      return s
    }
    return v.rendered
  }

  static func shellQuoted(_ word: String) -> String {
    word.range(of: "^[A-Za-z0-9_@%+=:,./-]+$", options: .regularExpression) != nil
      ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  /// What the command line changes in a sweep file: `--set` overrides (after its [set] and
  /// [quick] tables; a grid key cannot be overridden) and `--seeds` (replacing its seeds).
  /// Recorded in the sweep directory (`overrides.json`) so that `--resume` rebuilds the same cells.
  public struct CommandLine: Codable, Sendable, Equatable {
    public var set: [String] = []
    public var seeds: [UInt64]?
    public init(set: [String] = [], seeds: [UInt64]? = nil) { self.set = set; self.seeds = seeds }
    public var isEmpty: Bool { self.set.isEmpty && seeds == nil }

    /// `--seeds 1,2,3` or `--seeds 1..5` (inclusive).
    public static func seeds(_ text: String) throws -> [UInt64] {
      let bad = TopologyError(
        file: "--seeds \(text)", line: 0, key: "", message: "expected seeds like 1,2,3 or a range like 1..5 (integers >= 0)")
      if text.contains("..") {
        let ends = text.components(separatedBy: "..")
        guard ends.count == 2, let lo = UInt64(ends[0]), let hi = UInt64(ends[1]), lo <= hi, hi - lo < 1000 else { throw bad }
        return Array(lo...hi)
      }
      let seeds = text.split(separator: ",", omittingEmptySubsequences: false).map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
      guard !seeds.isEmpty, seeds.count <= 1000, seeds.allSatisfy({ $0 != nil }) else { throw bad }
      return seeds.map { $0! }
    }
  }

  public static func load(path: String, commandLine: CommandLine = CommandLine()) throws -> SweepSpec {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw TopologyError(file: path, line: 0, key: "", message: "cannot read the sweep file; check the path")
    }
    return try decode(text, file: path, commandLine: commandLine)
  }

  public static func decode(
    _ text: String, file: String, quick: Bool = false, commandLine: CommandLine = CommandLine()
  ) throws
    -> SweepSpec
  {
    try decode(table: try Topology.parse(text, file: file), file: file, extraKeys: [], quick: quick, commandLine: commandLine)
  }

  /// - extraKeys: top-level keys another format adds (paper files: paper, quick, claims).
  /// - quick: apply the file's [quick] table (topology overrides; `seeds` replaces the seeds).
  public static func decode(
    table root: TOMLTable, file: String, extraKeys: [String], quick: Bool, commandLine: CommandLine = CommandLine()
  ) throws -> SweepSpec {
    func fail(_ key: String, _ message: String) -> TopologyError {
      TopologyError(file: file, line: root[key.split(separator: ".").first.map(String.init) ?? key]?.line ?? 1, key: key, message: message)
    }
    let allowed = ["name", "base", "seeds", "set", "grid", "cells"] + extraKeys
    for key in root.keys where !allowed.contains(key) {
      throw fail(key, "unknown key (this file takes: \(allowed.joined(separator: ", "))); check its spelling")
    }
    guard case let .string(name)? = root["name"]?.value, !name.isEmpty,
      name.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil
    else {
      throw fail("name", "expected a name of letters, digits, '.', '_' or '-' (it names the sweep directory)")
    }
    guard case let .string(base)? = root["base"]?.value else {
      throw fail("base", "expected the base topology's path, relative to this file")
    }
    let dir = (file as NSString).deletingLastPathComponent
    let baseFile = base.hasPrefix("/") ? base : (dir as NSString).appendingPathComponent(base)
    var seeds: [UInt64] = [1]
    if let node = root["seeds"] {
      guard case let .array(items) = node.value, !items.isEmpty else {
        throw fail("seeds", "expected a non-empty array of seeds like [1, 2, 3]")
      }
      seeds = try items.map {
        guard case let .integer(i) = $0.value, i >= 0 else { throw fail("seeds", "expected integers >= 0, found \($0.value.rendered)") }
        return UInt64(i)
      }
    }
    let baseText: String
    do { baseText = try String(contentsOfFile: baseFile, encoding: .utf8) } catch {
      throw fail("base", "cannot read the base topology \(baseFile)")
    }
    var table = try Topology.parse(baseText, file: baseFile)
    var overrides: [(String, TOMLNode)] = []
    if case let .table(set)? = root["set"]?.value { overrides += set.keys.map { ($0, set[$0]!) } }
    if quick, case let .table(q)? = root["quick"]?.value {
      for key in q.keys {
        if key == "seeds" {
          guard case let .array(items) = q[key]!.value else { throw fail("quick.seeds", "expected an array of seeds") }
          seeds = try items.map {
            guard case let .integer(i) = $0.value, i >= 0 else {
              throw fail("quick.seeds", "expected integers >= 0, found \($0.value.rendered)")
            }
            return UInt64(i)
          }
        } else {
          overrides.append((key, q[key]!))
        }
      }
    }
    for (key, node) in overrides {
      do { table = try table.setting(key, to: node) } catch let e as TOMLParseError {
        throw TopologyError(file: file, line: node.line, key: "set.\(key)", message: e.message)
      }
    }
    let cli = try commandLine.set.map(TopologyOverride.init)
    table = try TopologyOverride.apply(cli, to: table)
    if let s = commandLine.seeds { seeds = s }
    var axes: [(String, [TOMLNode])] = []
    if let node = root["grid"] {
      guard case let .table(grid) = node.value else { throw fail("grid", "expected a [grid] table of key = [values]") }
      for key in grid.keys {
        guard case let .array(values) = grid[key]!.value, !values.isEmpty else {
          throw TopologyError(file: file, line: grid[key]!.line, key: "grid.\(key)", message: "expected a non-empty array of values")
        }
        axes.append((key, values))
      }
    }
    // The product, first grid key varying slowest; or an explicit [[cells]] list.
    var combos: [[(String, TOMLNode)]] = [[]]
    for (key, values) in axes { combos = combos.flatMap { c in values.map { c + [(key, $0)] } } }
    var gridKeys = axes.map(\.0)
    if let node = root["cells"] {
      guard axes.isEmpty else { throw fail("cells", "give either [grid] or [[cells]], not both") }
      guard case let .array(items) = node.value else { throw fail("cells", "expected [[cells]] tables of key = value") }
      combos = try items.map { item in
        guard case let .table(t) = item.value else { throw fail("cells", "expected [[cells]] tables of key = value") }
        return t.keys.map { ($0, t[$0]!) }
      }
      gridKeys = []
      for c in combos { for (k, _) in c where !gridKeys.contains(k) { gridKeys.append(k) } }
      combos = combos.map { c in gridKeys.compactMap { k in c.first { $0.0 == k } } }
    }
    for o in cli where gridKeys.contains(where: { o.key == $0 || o.key.hasPrefix($0 + ".") || $0.hasPrefix(o.key + ".") }) {
      throw TopologyError(
        file: "--set \(o.text)", line: 0, key: "",
        message: "\(o.key) is a grid key of \(file) (every cell sets it); change the grid instead")
    }
    /// An error about a value the sweep file (or the command line) set names that value's line.
    func blame(_ e: TopologyError, cell id: String, combo: [(String, TOMLNode)]) -> TopologyError {
      func sets(_ key: String) -> Bool { e.key == key || e.key.hasPrefix(key + ".") }
      if let (key, node) = combo.first(where: { sets($0.0) }) {
        return TopologyError(file: file, line: node.line, key: "grid.\(key)", message: "\(e.message) (cell \(id))")
      }
      if cli.contains(where: { sets($0.key) }) { return TopologyOverride.attribute(e, to: cli) }
      if let (key, node) = overrides.last(where: { sets($0.0) }) {
        return TopologyError(file: file, line: node.line, key: "set.\(key)", message: e.message)
      }
      let what = combo.map { "\($0.0) = \($0.1.value.rendered)" }.joined(separator: ", ")
      return TopologyError(
        file: file, line: combo.first?.1.line ?? 1, key: "grid",
        message: "cell \(id) (\(what.isEmpty ? "no grid" : what)) is not a valid topology: \(e.description)")
    }
    var cells: [Cell] = []
    for (k, combo) in combos.enumerated() {
      let id = String(format: "c%03d", k + 1)
      var topologies: [(UInt64, Topology)] = []
      for seed in seeds {
        var t = table
        for (key, value) in combo {
          do { t = try t.setting(key, to: value) } catch let e as TOMLParseError {
            throw TopologyError(file: file, line: value.line, key: "grid.\(key)", message: e.message)
          }
        }
        t = try t.setting("seed", to: TOMLNode(value: .integer(Int64(seed)), line: 0))
        t = try t.setting("name", to: TOMLNode(value: .string("\(name)-\(id)-s\(seed)"), line: 0))
        do {
          topologies.append((seed, try Topology.decode(table: t, file: baseFile)))
        } catch let e as TopologyError {
          throw blame(e, cell: id, combo: combo)
        }
      }
      let grid = gridKeys.map { k in (k, combo.first { $0.0 == k }?.1.value) }
      cells.append(Cell(id: id, values: grid.map { ($0.0, $0.1?.rendered ?? "") }, grid: grid, topologies: topologies))
    }
    return SweepSpec(
      name: name, file: file, baseFile: baseFile, seeds: seeds, gridKeys: gridKeys, cells: cells, commandLine: commandLine,
      fixed: overrides.map { ($0.0, $0.1.value) } + cli.map { ($0.key, $0.value.value) })
  }
}
