/// A TOML value that remembers the line it was written on, so every configuration error
/// can name its file, key and line.
public struct TOMLNode: Sendable, Equatable {
  public let value: TOMLValue
  /// 1-based line of the value (for tables: of their header or first key).
  public let line: Int

  public init(value: TOMLValue, line: Int) { self.value = value; self.line = line }
}

public indirect enum TOMLValue: Sendable, Equatable {
  case string(String)
  case integer(Int64)
  case float(Double)
  case boolean(Bool)
  case array([TOMLNode])
  case table(TOMLTable)

  /// The TOML type name, for error messages ("expected an integer, found a string").
  public var typeName: String {
    switch self {
    case .string: return "a string"
    case .integer: return "an integer"
    case .float: return "a float"
    case .boolean: return "a boolean"
    case .array: return "an array"
    case .table: return "a table"
    }
  }

  /// The value as it would appear in TOML (for messages).
  public var rendered: String {
    switch self {
    case let .string(s): return "\"\(s)\""
    case let .integer(i): return String(i)
    case let .float(d): return String(d)
    case let .boolean(b): return String(b)
    case let .array(a): return "[" + a.map(\.value.rendered).joined(separator: ", ") + "]"
    case let .table(t): return "{" + t.keys.map { "\($0) = \(t[$0]!.value.rendered)" }.joined(separator: ", ") + "}"
    }
  }
}

/// A TOML table: keys in the order they were written.
public struct TOMLTable: Sendable, Equatable {
  public private(set) var keys: [String] = []
  private var entries: [String: TOMLNode] = [:]
  /// Whether this table was defined explicitly ([header] or inline), for duplicate checks.
  var defined = false

  public init() {}

  public subscript(_ key: String) -> TOMLNode? {
    get { entries[key] }
    set {
      if entries[key] == nil, newValue != nil { keys.append(key) }
      if newValue == nil { keys.removeAll { $0 == key } }
      entries[key] = newValue
    }
  }

  public var isEmpty: Bool { keys.isEmpty }
}
