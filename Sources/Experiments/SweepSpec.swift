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

  public static func decode(_ text: String, file: String) throws -> SweepSpec {
    let root = try Topology.parse(text, file: file)
    func fail(_ key: String, _ message: String) -> TopologyError {
      TopologyError(file: file, line: root[key.split(separator: ".").first.map(String.init) ?? key]?.line ?? 1, key: key, message: message)
    }
    for key in root.keys where !["name", "base", "seeds", "set", "grid"].contains(key) {
      throw fail(key, "unknown key (a sweep file takes: name, base, seeds, [set], [grid]); check its spelling")
    }
    guard case let .string(name)? = root["name"]?.value, !name.isEmpty,
          name.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil else {
      throw fail("name", "expected a name of letters, digits, '.', '_' or '-' (it names the sweep directory)")
    }
    guard case let .string(base)? = root["base"]?.value else { throw fail("base", "expected the base topology's path, relative to this file") }
    let dir = (file as NSString).deletingLastPathComponent
    let baseFile = base.hasPrefix("/") ? base : (dir as NSString).appendingPathComponent(base)
    var seeds: [UInt64] = [1]
    if let node = root["seeds"] {
      guard case let .array(items) = node.value, !items.isEmpty else { throw fail("seeds", "expected a non-empty array of seeds like [1, 2, 3]") }
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
    if case let .table(set)? = root["set"]?.value {
      for key in set.keys {
        do { table = try table.setting(key, to: set[key]!) } catch let e as TOMLParseError {
          throw TopologyError(file: file, line: set[key]!.line, key: "set.\(key)", message: e.message)
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
    // The product, first grid key varying slowest.
    var combos: [[(String, TOMLNode)]] = [[]]
    for (key, values) in axes { combos = combos.flatMap { c in values.map { c + [(key, $0)] } } }
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
          throw TopologyError(file: file, line: combo.first?.1.line ?? 1, key: "grid",
                              message: "cell \(id) (\(what.isEmpty ? "no grid" : what)) is not a valid topology: \(e.description)")
        }
      }
      cells.append(Cell(id: id, values: combo.map { ($0.0, $0.1.value.rendered) }, topologies: topologies))
    }
    return SweepSpec(name: name, file: file, baseFile: baseFile, seeds: seeds, gridKeys: axes.map(\.0), cells: cells)
  }
}
