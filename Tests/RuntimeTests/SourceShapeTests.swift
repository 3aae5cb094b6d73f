import Foundation
import Testing

/// The shape the round-engine issue asked Runtime to keep: no function longer than 60 lines
/// (declaration to closing brace), so the loops stay a handful of visible calls.
@Suite struct SourceShapeTests {
  /// Lengths of the functions and initialisers of one Swift source, by a brace count that skips
  /// string literals and comments.
  static func functionLengths(_ text: String) -> [(line: Int, length: Int, signature: String)] {
    let lines = text.components(separatedBy: "\n")
    let declaration = try! NSRegularExpression(
      pattern: #"^\s*(@\w+\s+)*((public|private|fileprivate|internal|static|mutating|override|nonisolated)\s+)*(func\s|init[?(<]|deinit\b)"#
    )
    func code(_ line: String) -> String {
      // Drop string literals and a trailing // comment before counting braces.
      var out = "", inString = false, previous: Character = " "
      for c in line {
        if c == "\"" && previous != "\\" {
          inString.toggle()
        } else if !inString {
          if c == "/" && previous == "/" { out.removeLast(); break }
          out.append(c)
        }
        previous = c
      }
      return out
    }
    var result: [(Int, Int, String)] = []
    for (i, line) in lines.enumerated() {
      let range = NSRange(line.startIndex..., in: line)
      guard declaration.firstMatch(in: line, range: range) != nil else { continue }
      var depth = 0, opened = false, j = i
      scan: while j < lines.count {
        for c in code(lines[j]) {
          if c == "{" { depth += 1; opened = true } else if c == "}" { depth -= 1 }
          if opened && depth == 0 { break scan }
        }
        if !opened && j > i + 8 { break }  // a requirement without a body
        j += 1
      }
      if opened { result.append((i + 1, j - i + 1, line.trimmingCharacters(in: .whitespaces))) }
    }
    return result
  }

  @Test func noRuntimeFunctionIsLongerThan60Lines() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Sources/Runtime")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
    #expect(files.count > 10)
    var measured = 0
    for f in files {
      for fn in Self.functionLengths(try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)) {
        measured += 1
        #expect(fn.length <= 60, "\(f):\(fn.line): \(fn.length) lines: \(fn.signature)")
      }
    }
    #expect(measured > 100)
  }

  /// The counter itself, on a hand-written source.
  @Test func functionLengthsAreCountedFromDeclarationToClosingBrace() {
    let text = """
      struct S {
        func a() {
          let s = "{ not a brace"
          // } nor this
        }
        public static func b(_ x: Int) -> Int {
          x + 1 }
        init() {}
      }
      """
    #expect(Self.functionLengths(text).map(\.length) == [4, 2, 1])
  }
}
