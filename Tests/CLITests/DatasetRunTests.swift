import Foundation
import Testing
import TestSupport

/// More real data sets (issue 13 §5): the shipped tabular topologies train to their stated
/// accuracy, an IDX directory other than Fashion-MNIST trains, attacks that make sense run on
/// a table and those that need images are refused with a clear error.
@Suite struct DatasetRunTests {
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  func run(_ file: String, _ extra: [String] = []) throws -> (result: CLI.Result, json: [String: Any]?) {
    let runs = CLI.temporaryDirectory().appendingPathComponent("runs").path
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"] + extra)
    return (r, r.json)
  }

  /// Breast cancer (569 × 30) with logistic regression and digits (1,797 × 64) with an MLP, both
  /// as shipped in topologies/, over ten worker processes with CURVE.
  @Test(arguments: [("breast-cancer.toml", 30, 2), ("digits.toml", 64, 10)])
  func shippedTablesTrainToTheirStatedAccuracy(file: String, features: Int, classes: Int) throws {
    let (r, json) = try run(Self.repository.appendingPathComponent("topologies/\(file)").path)
    #expect(r.status == 0, "\(r.stderr)")
    let accuracy = try #require(json?["test_accuracy"] as? Double)
    #expect(accuracy >= 0.95, "\(file): test accuracy \(accuracy)")
    let runDir = try #require(json?["run_dir"] as? String)
    let manifest =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir + "/manifest.json"))) as! [String: Any]
    let input = manifest["input"] as! [String: Int]
    #expect(input["height"] == 1 && input["width"] == features && input["channels"] == 1)
    #expect(manifest["classes"] as? Int == classes)
  }

  /// A table of the breast-cancer data under attack: Dirichlet shards, two label flippers,
  /// trimmed mean; a backdoor, a DBA, a CNN or adversarial training are refused before anything
  /// runs, each naming the setting.
  @Test func attacksThatMakeSenseRunOnATableAndTheRestAreRefused() throws {
    let (file, runs) = RunCommandTests.write(
      """
      name = "bc"
      seed = 3
      rounds = 30
      [data]
      dataset = "csv"
      file = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv"
      partition = { kind = "dirichlet", alpha = 1.0 }
      [model]
      kind = "mlp"
      hidden = [16]
      [training]
      batch_size = 16
      learning_rate = 0.05
      [coordinator]
      aggregator = { name = "trimmed_mean", f = 2 }
      eval_every = 10
      [[workers]]
      count = 6
      [[workers]]
      count = 2
      data_attack = "label_flip"
      [security]
      curve = false
      """)
    let ok = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect((ok.json?["test_accuracy"] as? Double ?? 0) > 0.85)
    let refusals: [(String, String)] = [
      ("workers[1].data_attack=backdoor", "workers[1].data_attack = \"backdoor\" needs images"),
      ("workers[1].data_attack=dba", "workers[1].data_attack = \"dba\" needs images"),
      ("model.kind=cnn", "model.kind = \"cnn\" needs images"),
      ("training.adversarial_eps=0.1", "training.adversarial_eps needs images"),
    ]
    for (set, message) in refusals {
      let r = try CLI.run(["run", file, "--runs-dir", runs, "--set", set])
      #expect(r.status != 0)
      #expect(r.stderr.contains(message), "\(set): \(r.stderr)")
      #expect(r.stderr.contains("is a table of 30 features"), "\(r.stderr)")
    }
    // The same refusal from validate, which reads the data when it is there.
    let v = try CLI.run(["validate", file, "--set", "workers[1].data_attack=backdoor"])
    #expect(v.status != 0 && v.stderr.contains("needs images"), "\(v.stderr)")
    // A CSV problem names the file and the line.
    let bad = CLI.temporaryDirectory().appendingPathComponent("bad.csv")
    try Data("a,b,y\n1,2,0\n3,,1\n".utf8).write(to: bad)
    let b = try CLI.run(["run", file, "--runs-dir", runs, "--set", "data.file=\"\(bad.path)\""])
    #expect(b.status != 0 && b.stderr.contains("\(bad.path):3: column 2 (b) is empty: a missing value"), "\(b.stderr)")
    // Refused runs leave no half-prepared directory: only the first run is there.
    #expect(try FileManager.default.contentsOfDirectory(atPath: runs).count == 1)
  }

  /// Any IDX directory: scikit-learn's digits written as IDX files (8×8 images, grey levels 0–16
  /// scaled to bytes) by NumPy, one of them gzip-compressed; the classes come from the labels.
  @Test func anIDXDirectoryOtherThanFashionMNISTTrains() throws {
    let dir = CLI.temporaryDirectory().appendingPathComponent("digits-idx")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let script = """
      import gzip, struct, sys, numpy as np
      a = np.loadtxt('/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz', delimiter=',')
      x = np.clip(a[:, :-1] * 16, 0, 255).astype(np.uint8).reshape(-1, 8, 8)
      y = a[:, -1].astype(np.uint8)
      out = sys.argv[1]
      for name, s in (('train', slice(0, 1437)), ('t10k', slice(1437, None))):
          imgs, labs = x[s], y[s]
          open(f'{out}/{name}-images-idx3-ubyte', 'wb').write(struct.pack('>4B3I', 0, 0, 8, 3, len(imgs), 8, 8) + imgs.tobytes())
          labels = struct.pack('>4BI', 0, 0, 8, 1, len(labs)) + labs.tobytes()
          if name == 'train':
              open(f'{out}/{name}-labels-idx1-ubyte.gz', 'wb').write(gzip.compress(labels))
          else:
              open(f'{out}/{name}-labels-idx1-ubyte', 'wb').write(labels)
      """
    try ReferencePython.run(["-c", script, dir.path])
    let (file, runs) = RunCommandTests.write(
      """
      name = "digits-idx"
      seed = 2
      rounds = 300
      [data]
      dataset = "idx"
      dir = "\(dir.path)"
      [model]
      kind = "mlp"
      hidden = [64]
      [training]
      batch_size = 16
      learning_rate = 0.1
      [coordinator]
      eval_every = 100
      [[workers]]
      count = 4
      [security]
      curve = false
      """)
    let r = try CLI.run(["run", file, "--runs-dir", runs, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let accuracy = try #require(r.json?["test_accuracy"] as? Double)
    #expect(accuracy >= 0.9, "test accuracy \(accuracy)")
    let runDir = try #require(r.json?["run_dir"] as? String)
    let manifest =
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: runDir + "/manifest.json"))) as! [String: Any]
    #expect(manifest["input"] as? [String: Int] == ["height": 8, "width": 8, "channels": 1])
    #expect(manifest["classes"] as? Int == 10)
    #expect((manifest["data_files"] as? [[String: Any]])?.count == 4)
    // The CNN of Fang et al. needs at least 10×10 images: refused with the shape.
    let cnn = try CLI.run(["run", file, "--runs-dir", runs, "--set", "model.kind=cnn"])
    #expect(cnn.status != 0 && cnn.stderr.contains("needs images of at least 10×10: got 8×8×1"), "\(cnn.stderr)")
  }
}
