import Foundation
import Testing

/// `byzsim drift ks|mmd|psi|chi2`: the JSON contract (`statistic`, `p_value` where defined,
/// `drift`), the worked checks through the command line, and clear errors on bad files.
struct DriftCommandTests {
  func write(_ name: String, _ text: String, in dir: URL) throws -> String {
    let path = dir.appendingPathComponent(name).path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test func ksWorkedCheckThroughTheCommandLine() throws {
    let dir = CLI.temporaryDirectory()
    let a = try write("a.csv", "x\n" + (1...10).map { "\($0)" }.joined(separator: "\n") + "\n", in: dir)
    let b = try write("b.csv", "x\n" + (1...10).map { "\(Double($0) + 3.5)" }.joined(separator: "\n") + "\n", in: dir)
    let r = try CLI.run(["drift", "ks", "--reference", a, "--current", b, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(abs((r.json?["statistic"] as? Double ?? 0) - 0.4) < 1e-12)
    #expect(abs((r.json?["p_value"] as? Double ?? 0) - 0.417_523_65) < 1e-8)
    #expect(r.json?["drift"] as? Bool == false)
  }

  @Test func eachDetectorFlagsAShiftAndNotItsAbsence() throws {
    let dir = CLI.temporaryDirectory()
    // Two features; a deterministic spread of values, and the same spread shifted by 2.
    let rows: [(Double, Double)] = (0..<200).map { (i: Int) -> (Double, Double) in
      let a = Double(i % 50) / 10
      let b = Double((i * 7) % 40) / 8
      return (a, b)
    }
    let ref = try write("ref.csv", "a,b\n" + rows.map { "\($0.0),\($0.1)" }.joined(separator: "\n"), in: dir)
    let same = try write("same.csv", rows.reversed().map { "\($0.0),\($0.1)" }.joined(separator: "\n"), in: dir)
    let moved = try write("moved.csv", rows.map { "\($0.0 + 2),\($0.1)" }.joined(separator: "\n"), in: dir)
    let labelsRef = try write("lr.csv", (0..<300).map { "\($0 % 3)" }.joined(separator: "\n"), in: dir)
    let labelsSame = try write("ls.csv", (0..<150).map { "\(($0 + 1) % 3)" }.joined(separator: "\n"), in: dir)
    let labelsMoved = try write("lm.csv", (0..<150).map { $0 % 5 == 0 ? "1" : "0" }.joined(separator: "\n"), in: dir)
    let cases: [(String, String, String, String, Bool)] = [
      ("ks", ref, same, moved, true), ("mmd", ref, same, moved, true), ("psi", ref, same, moved, false),
      ("chi2", labelsRef, labelsSame, labelsMoved, true),
    ]
    for (detector, a, b, c, hasP) in cases {
      let quiet = try CLI.run(["drift", detector, "--reference", a, "--current", b, "--json"])
      let loud = try CLI.run(["drift", detector, "--reference", a, "--current", c, "--json"])
      #expect(quiet.status == 0 && loud.status == 0, "\(detector): \(quiet.stderr) \(loud.stderr)")
      #expect(quiet.json?["drift"] as? Bool == false, "\(detector): \(quiet.stdout)")
      #expect(loud.json?["drift"] as? Bool == true, "\(detector): \(loud.stdout)")
      #expect(loud.json?["statistic"] as? Double != nil && (loud.json?["p_value"] != nil) == hasP, "\(detector): \(loud.stdout)")
    }
  }

  @Test func badFilesAreClearErrors() throws {
    let dir = CLI.temporaryDirectory()
    let good = try write("good.csv", "1,2\n3,4\n5,6\n", in: dir)
    let cases: [([String], String)] = [
      (["ks", "--current", try write("nan.csv", "1,2\nnan,4\n", in: dir)], "not finite"),
      (["ks", "--current", try write("narrow.csv", "1\n2\n", in: dir)], "columns"),
      (["ks", "--current", try write("ragged.csv", "1,2\n3\n", in: dir)], "columns"),
      (["ks", "--current", try write("empty.csv", "", in: dir)], "no observations"),
      (["ks", "--current", try write("words.csv", "1,2\n3,x\n", in: dir)], "not a number"),
      (["ks", "--current", dir.appendingPathComponent("missing.csv").path], "cannot be read"),
      (["chi2", "--current", try write("frac.csv", "1,2\n3.5,4\n", in: dir)], "not a category"),
      (["ks", "--current", good, "--alpha", "2"], "alpha"),
      (["mmd", "--current", good, "--permutations", "0"], "permutations"),
    ]
    for (args, message) in cases {
      let r = try CLI.run(["drift", args[0], "--reference", good] + args.dropFirst())
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
