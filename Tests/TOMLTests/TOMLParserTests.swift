import Foundation
import Testing
@testable import TOML

@Suite struct TOMLParserTests {
  static let document = #"""
    # A topology-like document exercising the grammar
    name = "default"   # trailing comment
    seed = 42
    rate = 1e-3
    neg = -0.5
    big = 1_000_000
    hex = 0xff
    on = true
    path = 'C:\raw\path'
    escaped = "tab\there \"quoted\" \u00e9"
    hidden = [100, 50,]
    nested = [[1, 2], ["a"]]
    multi = """
    first
    second"""

    [data]
    partition = { name = "dirichlet", alpha = 0.5 }
    dotted.key = "x"

    [coordinator.aggregator]
    name = "krum"

    [[workers]]
    count = 10
    behavior = "honest"

    [[workers]]
    count = 3
    behavior = "alie"
    """#

  /// Converts our tree to Foundation JSON objects for comparison.
  static func json(_ v: TOMLValue) -> Any {
    switch v {
    case let .string(s): return s
    case let .integer(i): return i
    case let .float(d): return d
    case let .boolean(b): return b
    case let .array(a): return a.map { json($0.value) }
    case let .table(t): return Dictionary(uniqueKeysWithValues: t.keys.map { ($0, json(t[$0]!.value)) })
    }
  }

  /// The same document through Python's tomllib (an independent TOML 1.0 implementation).
  @Test func matchesPythonTomllib() throws {
    let ours = try TOML.parse(Self.document)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import sys, tomllib, json; print(json.dumps(tomllib.loads(sys.stdin.read()), sort_keys=True))"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(Data(Self.document.utf8))
    try input.fileHandleForWriting.close()
    let reference = output.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try #require(p.terminationStatus == 0)
    let mine = try JSONSerialization.data(withJSONObject: Self.json(.table(ours)), options: [.sortedKeys])
    let a = try JSONSerialization.jsonObject(with: mine) as! NSDictionary
    let b = try JSONSerialization.jsonObject(with: reference) as! NSDictionary
    #expect(a == b)
  }

  @Test func valuesKeepTheirLines() throws {
    let t = try TOML.parse(Self.document)
    #expect(t["seed"]?.line == 3)
    guard case let .table(data)? = t["data"]?.value else { Issue.record("no [data]"); return }
    #expect(data["partition"]?.line == 18)
    guard case let .array(workers)? = t["workers"]?.value, case let .table(second) = workers[1].value else {
      Issue.record("no workers"); return
    }
    #expect(second["behavior"]?.line == 30)
  }

  @Test(arguments: [
    ("a = 1\na = 2", 2, "duplicate key 'a': already set on line 1"),
    ("a = \"open", 1, "unterminated string"),
    ("x = honest", 1, "strings need quotes"),
    ("[t]\n[t]", 2, "already defined on line 1"),
    ("a = 1 2", 1, "after the value"),
    ("a = [1, 2", 1, "unterminated array"),
    ("d = 1979-05-27", 1, "dates and times are not supported"),
    ("n = 012", 1, "leading zeros"),
    ("\n\nk = { a = 1, a = 2 }", 3, "duplicate key"),
    ("a = 1\n[a]", 2, "already defined"),
  ])
  func errorsNameTheLine(text: String, line: Int, message: String) {
    do {
      _ = try TOML.parse(text)
      Issue.record("accepted: \(text)")
    } catch let e as TOMLParseError {
      #expect(e.line == line)
      #expect(e.message.contains(message), "\(e.message)")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }
}
