extension TOMLTable {
  /// A copy with `value` set at a dotted key path, where a segment may index an array of tables:
  /// `coordinator.aggregator`, `workers[1].behavior`. Missing tables are created; indexing past
  /// an array's end is an error.
  public func setting(_ path: String, to value: TOMLNode) throws -> TOMLTable {
    let segments = path.split(separator: ".").map(String.init)
    guard !segments.isEmpty else { throw TOMLParseError(line: value.line, message: "empty key path") }
    return try Self.set(self, segments[...], value, path: path)
  }

  static func set(_ table: TOMLTable, _ rest: ArraySlice<String>, _ value: TOMLNode, path: String) throws -> TOMLTable {
    var t = table
    var key = rest.first!
    var index: Int?
    if let open = key.firstIndex(of: "["), key.hasSuffix("]") {
      guard let i = Int(key[key.index(after: open)..<key.index(before: key.endIndex)]), i >= 0 else {
        throw TOMLParseError(line: value.line, message: "'\(path)': bad index in '\(key)'")
      }
      index = i
      key = String(key[..<open])
    }
    let tail = rest.dropFirst()
    if let index {
      guard case var .array(items)? = t[key]?.value, index < items.count, case let .table(inner) = items[index].value else {
        throw TOMLParseError(line: value.line, message: "'\(path)': no table \(key)[\(index)] in the base topology")
      }
      if tail.isEmpty { throw TOMLParseError(line: value.line, message: "'\(path)': cannot replace a whole table of \(key)") }
      items[index] = TOMLNode(value: .table(try set(inner, tail, value, path: path)), line: items[index].line)
      t[key] = TOMLNode(value: .array(items), line: t[key]!.line)
      return t
    }
    if tail.isEmpty {
      t[key] = value
      return t
    }
    var inner = TOMLTable()
    if let existing = t[key] {
      guard case let .table(e) = existing.value else {
        throw TOMLParseError(line: value.line, message: "'\(path)': '\(key)' is not a table")
      }
      inner = e
    }
    t[key] = TOMLNode(value: .table(try set(inner, tail, value, path: path)), line: t[key]?.line ?? value.line)
    return t
  }
}
