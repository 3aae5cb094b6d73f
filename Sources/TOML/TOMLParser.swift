/// A TOML 1.0 reader for configuration files: comments, bare/quoted/dotted keys, tables,
/// arrays of tables, basic and literal strings (single- and multi-line), integers (decimal,
/// hex, octal, binary, with underscores), floats (incl. inf/nan), booleans, arrays and inline
/// tables. Dates and times are rejected with a clear error (no ByzSim setting uses them).
/// Every value keeps its line number.
public struct TOMLParseError: Error, Equatable, CustomStringConvertible {
  public let line: Int
  public let message: String
  public var description: String { "line \(line): \(message)" }
}

public enum TOML {
  /// The deepest nesting of arrays and inline tables, and the most components of a dotted key:
  /// deeper input is refused before it can exhaust the stack of the parser, of validation or of
  /// the values' deallocation.
  public static let maxDepth = 64
  /// The largest file the reader accepts (configuration files are a few kilobytes).
  public static let maxBytes = 16 << 20

  public static func parse(_ text: String) throws -> TOMLTable {
    guard text.utf8.count <= maxBytes else {
      throw TOMLParseError(line: 1, message: "the file has \(text.utf8.count) bytes; at most \(maxBytes) are read")
    }
    var p = Parser(Array(text.utf8))
    return try p.document()
  }
}

private struct Parser {
  let s: [UInt8]
  var i = 0
  var line = 1
  /// Arrays and inline tables open around the current position.
  var depth = 0

  init(_ s: [UInt8]) { self.s = s }

  func fail(_ message: String) -> TOMLParseError { TOMLParseError(line: line, message: message) }

  var atEnd: Bool { i >= s.count }
  var peek: UInt8? { i < s.count ? s[i] : nil }

  mutating func skipSpaces() {
    while let c = peek, c == 0x20 || c == 0x09 { i += 1 }
  }

  /// Skips spaces, comments and newlines (between array elements, or between statements).
  mutating func skipBlank() {
    while let c = peek {
      if c == 0x20 || c == 0x09 || c == 0x0D {
        i += 1
      } else if c == 0x0A {
        i += 1; line += 1
      } else if c == UInt8(ascii: "#") {
        skipComment()
      } else {
        break
      }
    }
  }

  mutating func skipComment() {
    while let c = peek, c != 0x0A { i += 1 }
  }

  /// After a key/value or header: only spaces and a comment may remain on the line.
  mutating func endOfLine() throws {
    skipSpaces()
    if peek == UInt8(ascii: "#") { skipComment() }
    if peek == 0x0D { i += 1 }
    guard atEnd || peek == 0x0A else {
      throw fail("unexpected '\(String(decoding: [peek!], as: UTF8.self))' after the value; put one key = value per line")
    }
  }

  mutating func document() throws -> TOMLTable {
    var root = TOMLTable()
    var current: [String] = []  // path of the table being filled
    var currentIsArrayElement = false
    _ = currentIsArrayElement
    while true {
      skipBlank()
      if atEnd { break }
      if peek == UInt8(ascii: "[") {
        let headerLine = line
        i += 1
        let isArray = peek == UInt8(ascii: "[")
        if isArray { i += 1 }
        skipSpaces()
        let path = try key()
        skipSpaces()
        guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
        i += 1
        if isArray {
          guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the array-of-tables header") }
          i += 1
        }
        try endOfLine()
        try open(&root, path: path, array: isArray, line: headerLine)
        current = path
        currentIsArrayElement = isArray
        continue
      }
      let keyLine = line
      let path = try key()
      skipSpaces()
      guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(path.joined(separator: "."))'") }
      i += 1
      skipSpaces()
      let v = try value()
      try endOfLine()
      try insert(&root, tablePath: current, keyPath: path, node: TOMLNode(value: v, line: keyLine))
    }
    return root
  }

  // MARK: Keys

  mutating func key() throws -> [String] {
    var parts: [String] = []
    while true {
      skipSpaces()
      guard let c = peek else { throw fail("expected a key, found the end of the file") }
      if c == UInt8(ascii: "\"") {
        parts.append(try basicString())
      } else if c == UInt8(ascii: "'") {
        parts.append(try literalString())
      } else {
        let start = i
        while let c = peek, isBareKey(c) { i += 1 }
        guard i > start else { throw fail("expected a key, found '\(String(decoding: [c], as: UTF8.self))'") }
        parts.append(String(decoding: s[start..<i], as: UTF8.self))
      }
      skipSpaces()
      guard parts.count < TOML.maxDepth else { throw fail("a dotted key of more than \(TOML.maxDepth) parts") }
      if peek == UInt8(ascii: ".") { i += 1; continue }
      return parts
    }
  }

  func isBareKey(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
  }

  // MARK: Tables

  /// Creates (or, for arrays of tables, appends) the table at `path`.
  mutating func open(_ root: inout TOMLTable, path: [String], array: Bool, line: Int) throws {
    try modify(&root, path: Array(path.dropLast()), line: line) { parent in
      let last = path.last!
      if array {
        var elements: [TOMLNode] = []
        if let existing = parent[last] {
          guard case let .array(a) = existing.value, a.allSatisfy({ if case .table = $0.value { true } else { false } }) else {
            throw fail("'\(path.joined(separator: "."))' is already defined on line \(existing.line) as \(existing.value.typeName)")
          }
          elements = a
        }
        var t = TOMLTable()
        t.defined = true
        elements.append(TOMLNode(value: .table(t), line: line))
        parent[last] = TOMLNode(value: .array(elements), line: parent[last]?.line ?? line)
      } else {
        if let existing = parent[last] {
          guard case var .table(t) = existing.value, !t.defined else {
            throw fail("'\(path.joined(separator: "."))' is already defined on line \(existing.line)")
          }
          t.defined = true
          parent[last] = TOMLNode(value: .table(t), line: line)
        } else {
          var t = TOMLTable()
          t.defined = true
          parent[last] = TOMLNode(value: .table(t), line: line)
        }
      }
    }
  }

  /// Runs `body` on the table at `path`, creating implicit tables and descending into the
  /// last element of arrays of tables.
  func modify(_ table: inout TOMLTable, path: [String], line: Int, _ body: (inout TOMLTable) throws -> Void) throws {
    guard let first = path.first else { return try body(&table) }
    let rest = Array(path.dropFirst())
    if let node = table[first] {
      switch node.value {
      case var .table(t):
        try modify(&t, path: rest, line: line, body)
        table[first] = TOMLNode(value: .table(t), line: node.line)
      case var .array(a):
        guard let lastNode = a.last, case var .table(t) = lastNode.value else {
          throw TOMLParseError(
            line: line, message: "'\(first)' is already defined on line \(node.line) as \(node.value.typeName), not a table")
        }
        try modify(&t, path: rest, line: line, body)
        a[a.count - 1] = TOMLNode(value: .table(t), line: lastNode.line)
        table[first] = TOMLNode(value: .array(a), line: node.line)
      default:
        throw TOMLParseError(
          line: line, message: "'\(first)' is already defined on line \(node.line) as \(node.value.typeName), not a table")
      }
    } else {
      var t = TOMLTable()
      try modify(&t, path: rest, line: line, body)
      table[first] = TOMLNode(value: .table(t), line: line)
    }
  }

  mutating func insert(_ root: inout TOMLTable, tablePath: [String], keyPath: [String], node: TOMLNode) throws {
    let full = tablePath + keyPath
    try modify(&root, path: Array(full.dropLast()), line: node.line) { parent in
      let last = full.last!
      if let existing = parent[last] {
        throw fail("duplicate key '\(keyPath.joined(separator: "."))': already set on line \(existing.line)")
      }
      parent[last] = node
    }
  }

  // MARK: Values

  mutating func value() throws -> TOMLValue {
    guard let c = peek else { throw fail("expected a value, found the end of the file") }
    switch c {
    case UInt8(ascii: "\""): return .string(try basicString())
    case UInt8(ascii: "'"): return .string(try literalString())
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "{"): return try inlineTable()
    case UInt8(ascii: "t"), UInt8(ascii: "f"):
      if match("true") { return .boolean(true) }
      if match("false") { return .boolean(false) }
      throw fail("expected a value; strings need quotes, like \"\(word())\"")
    default:
      return try number()
    }
  }

  mutating func match(_ word: String) -> Bool {
    let w = Array(word.utf8)
    guard i + w.count <= s.count, Array(s[i..<(i + w.count)]) == w else { return false }
    if i + w.count < s.count, isBareKey(s[i + w.count]) { return false }
    i += w.count
    return true
  }

  func word() -> String {
    var j = i
    while j < s.count, isBareKey(s[j]) { j += 1 }
    return String(decoding: s[i..<j], as: UTF8.self)
  }

  mutating func number() throws -> TOMLValue {
    let start = i
    while let c = peek, isBareKey(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") { i += 1 }
    let raw = String(decoding: s[start..<i], as: UTF8.self)
    if raw.isEmpty {
      throw fail("expected a value, found '\(String(decoding: [peek!], as: UTF8.self))'")
    }
    if raw.contains(":") || (raw.count >= 10 && raw.dropFirst(4).first == "-" && raw.first!.isNumber) {
      throw fail("dates and times are not supported: '\(raw)'")
    }
    for (name, value) in [
      ("inf", Double.infinity), ("+inf", .infinity), ("-inf", -.infinity), ("nan", .nan), ("+nan", .nan), ("-nan", .nan),
    ] where raw == name {
      return .float(value)
    }
    if raw.contains("__") || raw.hasPrefix("_") || raw.hasSuffix("_") {
      throw fail("malformed number '\(raw)': underscores must sit between digits")
    }
    let clean = raw.replacingOccurrences(of: "_", with: "")
    let digits = clean.drop(while: { $0 == "+" || $0 == "-" })
    if digits.count > 1, digits.hasPrefix("0"), digits.allSatisfy(\.isNumber) {
      throw fail("integer '\(raw)' has leading zeros")
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where clean.hasPrefix(prefix) {
      guard let v = Int64(clean.dropFirst(2), radix: radix) else { throw fail("malformed number '\(raw)'") }
      return .integer(v)
    }
    if let v = Int64(clean), !(clean.count > 1 && clean.hasPrefix("0")), !clean.hasPrefix("+0") || clean == "+0" {
      return .integer(v)
    }
    if clean.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(clean), d.isFinite,
      !clean.hasPrefix("."), !clean.hasSuffix("."), !clean.contains(".e"), !clean.contains(".E")
    {
      return .float(d)
    }
    if Int64(clean) == nil, clean.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }), !clean.isEmpty {
      throw fail("integer '\(raw)' is out of range or has leading zeros")
    }
    throw fail("expected a value, found '\(raw)'; strings need quotes, like \"\(raw)\"")
  }

  mutating func basicString() throws -> String {
    if i + 2 < s.count, s[i + 1] == 0x22, s[i + 2] == 0x22 { return try multiLineBasic() }
    i += 1
    var out: [UInt8] = []
    while true {
      guard let c = peek, c != 0x0A else { throw fail("unterminated string: add the closing \"") }
      i += 1
      if c == 0x22 { break }
      if c == UInt8(ascii: "\\") { out += try escape() } else { out.append(c) }
    }
    return String(decoding: out, as: UTF8.self)
  }

  mutating func multiLineBasic() throws -> String {
    i += 3
    if peek == 0x0A { i += 1; line += 1 }
    var out: [UInt8] = []
    while true {
      guard let c = peek else { throw fail("unterminated multi-line string: add the closing \"\"\"") }
      if c == 0x22, i + 2 < s.count, s[i + 1] == 0x22, s[i + 2] == 0x22 { i += 3; break }
      i += 1
      if c == 0x0A { line += 1 }
      if c == UInt8(ascii: "\\") {
        if let n = peek, n == 0x0A || n == 0x20 || n == 0x09 || n == 0x0D {
          while let w = peek, w == 0x0A || w == 0x20 || w == 0x09 || w == 0x0D { if w == 0x0A { line += 1 }; i += 1 }
        } else {
          out += try escape()
        }
      } else {
        out.append(c)
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  mutating func escape() throws -> [UInt8] {
    guard let e = peek else { throw fail("unterminated escape") }
    i += 1
    switch e {
    case UInt8(ascii: "n"): return [0x0A]
    case UInt8(ascii: "t"): return [0x09]
    case UInt8(ascii: "r"): return [0x0D]
    case UInt8(ascii: "b"): return [0x08]
    case UInt8(ascii: "f"): return [0x0C]
    case UInt8(ascii: "\""): return [0x22]
    case UInt8(ascii: "\\"): return [0x5C]
    case UInt8(ascii: "u"), UInt8(ascii: "U"):
      let n = e == UInt8(ascii: "u") ? 4 : 8
      guard i + n <= s.count, let code = UInt32(String(decoding: s[i..<(i + n)], as: UTF8.self), radix: 16),
        let scalar = Unicode.Scalar(code)
      else { throw fail("invalid unicode escape") }
      i += n
      return Array(String(Character(scalar)).utf8)
    default:
      throw fail("invalid escape '\\\(String(decoding: [e], as: UTF8.self))' in a string")
    }
  }

  mutating func literalString() throws -> String {
    if i + 2 < s.count, s[i + 1] == 0x27, s[i + 2] == 0x27 {
      i += 3
      if peek == 0x0A { i += 1; line += 1 }
      let start = i
      while true {
        guard let c = peek else { throw fail("unterminated multi-line literal string: add the closing '''") }
        if c == 0x27, i + 2 < s.count, s[i + 1] == 0x27, s[i + 2] == 0x27 {
          let text = String(decoding: s[start..<i], as: UTF8.self)
          i += 3
          return text
        }
        if c == 0x0A { line += 1 }
        i += 1
      }
    }
    i += 1
    let start = i
    while true {
      guard let c = peek, c != 0x0A else { throw fail("unterminated string: add the closing '") }
      if c == 0x27 { break }
      i += 1
    }
    let text = String(decoding: s[start..<i], as: UTF8.self)
    i += 1
    return text
  }

  mutating func enter() throws {
    depth += 1
    guard depth <= TOML.maxDepth else { throw fail("arrays and inline tables nested more than \(TOML.maxDepth) deep") }
  }

  mutating func array() throws -> TOMLValue {
    try enter()
    defer { depth -= 1 }
    i += 1
    var items: [TOMLNode] = []
    while true {
      skipBlank()
      guard let c = peek else { throw fail("unterminated array: add the closing ]") }
      if c == UInt8(ascii: "]") { i += 1; return .array(items) }
      let itemLine = line
      items.append(TOMLNode(value: try value(), line: itemLine))
      skipBlank()
      if atEnd { throw fail("unterminated array: add the closing ]") }
      if peek == UInt8(ascii: ",") { i += 1; continue }
      guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in the array") }
    }
  }

  mutating func inlineTable() throws -> TOMLValue {
    try enter()
    defer { depth -= 1 }
    i += 1
    var t = TOMLTable()
    t.defined = true
    skipSpaces()
    if peek == UInt8(ascii: "}") { i += 1; return .table(t) }
    while true {
      skipSpaces()
      let keyLine = line
      let path = try key()
      skipSpaces()
      guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(path.joined(separator: "."))' in the inline table") }
      i += 1
      skipSpaces()
      let v = try value()
      try insert(&t, tablePath: [], keyPath: path, node: TOMLNode(value: v, line: keyLine))
      skipSpaces()
      if peek == UInt8(ascii: ",") { i += 1; continue }
      guard peek == UInt8(ascii: "}") else { throw fail("expected ',' or '}' in the inline table (inline tables stay on one line)") }
      i += 1
      return .table(t)
    }
  }
}

import Foundation
