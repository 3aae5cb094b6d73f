import Foundation
import TOML

/// One `--set KEY=VALUE` of `byzsim run` and `byzsim sweep`: a topology key path, as in sweep
/// grids (`rounds`, `coordinator.aggregator`, `workers[1].behavior`), and a TOML value. A value
/// that is not valid TOML on its own is taken as a string, so `--set coordinator.aggregator=krum`
/// needs no quotes; `--set 'coordinator.aggregator={name = "krum", f = 3}'` gives a table.
public struct TopologyOverride: Sendable, Equatable, CustomStringConvertible {
  public let key: String
  public let value: TOMLNode
  /// As the user typed it, for errors and records.
  public let text: String

  public var description: String { text }

  public init(_ text: String) throws {
    guard let eq = text.firstIndex(of: "=") else {
      throw TopologyError(file: "--set \(text)", line: 0, key: "", message: "expected KEY=VALUE, e.g. --set rounds=50")
    }
    let key = text[..<eq].trimmingCharacters(in: .whitespaces)
    let raw = text[text.index(after: eq)...].trimmingCharacters(in: .whitespaces)
    guard !key.isEmpty, key.range(of: #"^[A-Za-z0-9_]+(\[[0-9]+\])?(\.[A-Za-z0-9_]+(\[[0-9]+\])?)*$"#, options: .regularExpression) != nil
    else {
      throw TopologyError(
        file: "--set \(text)", line: 0, key: "",
        message: "'\(key)' is not a key path (dotted keys, arrays of tables indexed: coordinator.aggregator, workers[1].behavior)")
    }
    guard !raw.isEmpty, !raw.contains(where: \.isNewline) else {
      throw TopologyError(file: "--set \(text)", line: 0, key: "", message: "expected a value after '=' (one line of TOML or a word)")
    }
    self.key = key
    self.text = text
    // Line 0: the value came from the command line, not from a line of the file.
    do {
      let parsed = try TOML.parse("v = \(raw)")
      value = TOMLNode(value: parsed["v"]?.value ?? .string(raw), line: 0)
    } catch is TOMLParseError {
      value = TOMLNode(value: .string(raw), line: 0)  // a bare word: a string
    }
  }

  /// `table` with every override set, in order (a later one wins).
  public static func apply(_ overrides: [TopologyOverride], to table: TOMLTable) throws -> TOMLTable {
    var t = table
    for o in overrides {
      do { t = try t.setting(o.key, to: o.value) } catch let e as TOMLParseError {
        throw TopologyError(file: "--set \(o.text)", line: 0, key: "", message: e.message)
      }
    }
    return t
  }

  /// An error about a key an override set is reported against the override, not the file.
  public static func attribute(_ error: TopologyError, to overrides: [TopologyOverride]) -> TopologyError {
    guard let o = overrides.last(where: { $0.key == error.key || error.key.hasPrefix($0.key + ".") }) else {
      return error
    }
    return TopologyError(file: "--set \(o.text)", line: 0, key: "", message: error.message)
  }
}

extension Topology {
  /// Reads a topology file and sets the overrides in it before it is validated; an error about
  /// an overridden key names the `--set`.
  public static func load(path: String, overrides: [TopologyOverride]) throws -> Topology {
    let table = try TopologyOverride.apply(overrides, to: try parse(try readText(path: path), file: path))
    do { return try decode(table: table, file: path) } catch let e as TopologyError {
      throw TopologyOverride.attribute(e, to: overrides)
    }
  }
}
