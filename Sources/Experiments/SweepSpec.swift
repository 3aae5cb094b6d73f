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
    /// Seed → the resolved topology.
    public let topologies: [(UInt64, Topology)]
  }

  public let name: String
  public let file: String
  public let baseFile: String
  public let seeds: [UInt64]
  public let gridKeys: [String]
  public let cells: [Cell]

  public static func load(path: String) throws -> SweepSpec {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw TopologyError(file: path, line: 0, key: "", message: "cannot read the sweep file; check the path")
    }
    return try decode(text, file: path)
  }

  public static func decode(_ text: String, file: String, quick: Bool = false) throws -> SweepSpec {
    try decode(table: try Topology.parse(text, file: file), file: file, extraKeys: [], quick: quick)
  }

  /// - extraKeys: top-level keys another format adds (paper files: paper, quick, claims).
  /// - quick: apply the file's [quick] table (topology overrides; `seeds` replaces the seeds).
  public static func decode(table root: TOMLTable, file: String, extraKeys: [String], quick: Bool) throws -> SweepSpec {
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
          seeds = items.compactMap { if case let .integer(i) = $0.value { UInt64(i) } else { nil } }
        } else {
          overrides.append((key, q[key]!))
        }
      }
    }
    do {
      let set = overrides
      for (key, node) in set {
        do { table = try table.setting(key, to: node) } catch let e as TOMLParseError {
          throw TopologyError(file: file, line: node.line, key: "set.\(key)", message: e.message)
        }
      }
    }
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
          let what = combo.map { "\($0.0) = \($0.1.value.rendered)" }.joined(separator: ", ")
          throw TopologyError(
            file: file, line: combo.first?.1.line ?? 1, key: "grid",
            message: "cell \(id) (\(what.isEmpty ? "no grid" : what)) is not a valid topology: \(e.description)")
        }
      }
      let rendered = gridKeys.map { k in (k, combo.first { $0.0 == k }.map { $0.1.value.rendered } ?? "") }
      cells.append(Cell(id: id, values: rendered, topologies: topologies))
    }
    return SweepSpec(name: name, file: file, baseFile: baseFile, seeds: seeds, gridKeys: gridKeys, cells: cells)
  }
}
