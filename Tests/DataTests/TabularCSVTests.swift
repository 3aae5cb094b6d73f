import Foundation
import Testing
import TestSupport

@testable import Data
@testable import Tensor

/// `dataset = "csv"`: parsing, the train/test split and the standardisation, checked against
/// NumPy on the files Debian's python3-sklearn ships.
@Suite struct TabularCSVTests {
  static let sklearnData = "/usr/lib/python3/dist-packages/sklearn/datasets/data"

  func parse(_ text: String, label: TabularCSV.LabelColumn = .index(-1)) throws -> TabularCSV.Table {
    try TabularCSV.parse(Array(text.utf8), path: "t.csv", label: label)
  }

  func failure(_ text: String, label: TabularCSV.LabelColumn = .index(-1)) -> String {
    do {
      _ = try parse(text, label: label)
      return "parsed"
    } catch {
      return "\(error)"
    }
  }

  /// The split of each file, standardised by us, against NumPy's mean and population standard
  /// deviation over the same training rows (the test rows never enter the fit).
  @Test(arguments: ["breast_cancer.csv", "digits.csv.gz"])
  func standardisesOnTheTrainingRowsAsNumPyDoes(file: String) throws {
    let path = "\(Self.sklearnData)/\(file)"
    let table = try TabularCSV.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), path: path, label: .index(-1))
    let split = try TabularCSV.split(table, testFraction: 0.2, seed: 0)
    #expect(split.train.domain == .tabular && split.test.domain == .tabular)
    #expect(split.train.count + split.test.count == table.rows)
    #expect(Set(split.trainRows).isDisjoint(with: split.testRows))
    let script = """
      import json, sys, numpy as np
      path, train, test = json.load(sys.stdin)
      skip = 1 if path.endswith('breast_cancer.csv') else 0
      a = np.loadtxt(path, delimiter=',', skiprows=skip)
      x, y = a[:, :-1], a[:, -1].astype(int)
      mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
      sd[sd == 0] = 1
      z = (x - mu) / sd
      print(json.dumps({'rows': len(a), 'features': x.shape[1], 'classes': len(np.unique(y)),
        'train': z[train].astype(np.float32).ravel().tolist(), 'test': z[test].astype(np.float32).ravel().tolist(),
        'train_labels': y[train].tolist(), 'test_labels': y[test].tolist()}))
      """
    let input = try JSONSerialization.data(withJSONObject: [path, split.trainRows, split.testRows])
    let reference =
      try JSONSerialization.jsonObject(with: Data(try ReferencePython.run(["-c", script], input: Array(input)).utf8)) as! [String: Any]
    #expect(reference["rows"] as? Int == table.rows)
    #expect(reference["features"] as? Int == split.train.shape.width)
    #expect(reference["classes"] as? Int == split.train.classes)
    let train = (reference["train"] as! [NSNumber]).map(\.floatValue), test = (reference["test"] as! [NSNumber]).map(\.floatValue)
    #expect(train.count == split.train.features.count && test.count == split.test.features.count)
    let worst = zip(train + test, split.train.features + split.test.features).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= 1e-5)
    #expect(split.train.labels.map(Int.init) == reference["train_labels"] as! [Int])
    #expect(split.test.labels.map(Int.init) == reference["test_labels"] as! [Int])
    // Standardised on the training rows: their columns have mean 0 and variance 1 (or are constant).
    let d = split.train.shape.width, n = split.train.count
    for j in 0..<d {
      let column = (0..<n).map { Double(split.train.features[$0 * d + j]) }
      #expect(abs(column.reduce(0, +) / Double(n)) < 1e-4)
    }
  }

  @Test func theSplitIsSeededAndHoldsOutTheAskedShare() throws {
    let path = "\(Self.sklearnData)/breast_cancer.csv"
    let table = try TabularCSV.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), path: path, label: .index(-1))
    #expect(table.rows == 569 && table.featureCount == 30 && table.classNames == ["0", "1"])
    let a = try TabularCSV.split(table, testFraction: 0.2, seed: 0), b = try TabularCSV.split(table, testFraction: 0.2, seed: 0)
    let c = try TabularCSV.split(table, testFraction: 0.2, seed: 1)
    #expect(a.testRows.count == 114 && a.trainRows.count == 455)  // round(569 · 0.2)
    #expect(a.testRows == b.testRows && a.train.features == b.train.features)
    #expect(a.testRows != c.testRows)
  }

  @Test func headersQuotesAndLabelNames() throws {
    let t = try parse("a, \"b, with comma\" ,diagnosis\n1,2,M\n3,\"4\",B\n\n5,6,M\r\n", label: .name("diagnosis"))
    #expect(t.columns == ["a", "b, with comma"])
    #expect(t.classNames == ["B", "M"])
    #expect(t.labels == [1, 0, 1])
    #expect(t.features == [1, 2, 3, 4, 5, 6])
    // No header: the first row is data even with a text label.
    let u = try parse("1,2,M\n3,4,B\n")
    #expect(u.rows == 2 && u.columns == nil && u.labels == [1, 0])
    // The label in the first column, numeric labels in numeric order, "1" and "1.0" one class.
    let v = try parse("10,0.5\n2,1.5\n10.0,2.5\n", label: .index(0))
    #expect(v.classNames == ["2", "10"] && v.labels == [1, 0, 1] && v.features == [0.5, 1.5, 2.5])
    // scikit-learn's header of counts and class names names no column.
    let w = try parse("3,1,malignant,benign\n1,0\n2,1\n3,0\n")
    #expect(w.columns == nil && w.rows == 3)
    #expect(try parse("x,\"say \"\"hi\"\"\"\n1,a\n2,b\n").classNames == ["a", "b"])
  }

  @Test func badTablesAreClearErrors() {
    #expect(failure("1,2,0\n3,4\n") == "t.csv:2: 2 fields, but the first row has 3; every row must have the same columns")
    #expect(failure("1,,0\n3,4,1\n") == "t.csv:1: column 2 is empty: a missing value")
    #expect(failure("1,nan,0\n3,4,1\n") == "t.csv:1: column 2 is nan: every feature must be finite")
    #expect(failure("1,inf,0\n3,4,1\n") == "t.csv:1: column 2 is inf: every feature must be finite")
    #expect(failure("a,b,y\n1,x,0\n3,4,1\n") == "t.csv:2: column 2 (b) is 'x', not a number")
    #expect(failure("1,2,0\n3,4,0\n").hasSuffix("one distinct label (0): classification needs at least 2 classes"))
    #expect(failure("1,\"2,0\n").hasSuffix("an unclosed quote in field 2"))
    #expect(failure("1,\"2\"x,0\n").hasSuffix("text after the closing quote of field 2"))
    #expect(failure("1,2,0\n3,4\0,1\n") == "t.csv:2: a NUL byte at offset 9: not a text file")
    #expect(failure("") == "t.csv: no rows (the file is empty)")
    #expect(failure("1\n2\n") == "t.csv:1: one column: a table needs at least one feature and a label column")
    #expect(failure("1,2,0\n3,4,1\n", label: .name("y")).contains("needs a header line naming the columns"))
    #expect(
      failure("a,b,y\n1,2,0\n3,4,1\n", label: .name("z")) == "t.csv:1: label_column = \"z\" is not a column; the header names a, b, y")
    #expect(failure("1,2,0\n3,4,1\n", label: .index(3)).contains("outside the file's 3 columns"))
    let many = (0..<300).map { "1,\($0)" }.joined(separator: "\n")
    #expect(failure(many).contains("300 distinct labels: at most 256 classes"))
    #expect(failure("1,2,0\n3,4,1\u{1}\n").hasSuffix("control character U+0001 in the line"))
  }

  @Test func aGzipTableReadsAsThePlainOne() throws {
    let dir = Fixtures.temporaryDirectory()
    let plain = dir.appendingPathComponent("t.csv")
    try Data("a,b,y\n1,2,0\n3,4,1\n5,6,0\n".utf8).write(to: plain)
    let gz = Fixtures.gzip(plain)
    let a = try TabularCSV.parse([UInt8](try Data(contentsOf: plain)), path: plain.path, label: .name("y"))
    let b = try TabularCSV.parse([UInt8](try Data(contentsOf: gz)), path: gz.path, label: .name("y"))
    #expect(a.features == b.features && a.labels == b.labels && a.columns == b.columns)
  }
}
