import Foundation
import Testing

@Suite(.serialized) struct TrainCommandTests {
  @Test func trainPrintsJSONSummaryAndLearns() throws {
    let dir = CLI.temporaryDirectory()
    CLI.writeToyDataset(in: dir)
    let manifest = dir.appendingPathComponent("manifest.json")
    let r = try CLI.run([
      "train", "--model", "mlp", "--hidden", "16", "--epochs", "3", "--batch-size", "16",
      "--lr", "0.05", "--data-dir", dir.path, "--json", "--manifest", manifest.path,
    ])
    #expect(r.status == 0, "stderr: \(r.stderr)")
    let json = try #require(r.json)
    for key in ["test_accuracy", "test_loss", "epochs", "seconds", "samples_per_second", "data_files"] {
      #expect(json[key] != nil, "missing key \(key)")
    }
    #expect((json["epochs"] as? Int) == 3)
    #expect((json["test_accuracy"] as? Double ?? 0) > 0.9)
    #expect(r.stderr.contains("epoch 3/3"))
    // The manifest holds the SHA-256 of all four files.
    let m = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any]
    #expect((m?["files"] as? [[String: Any]])?.count == 4)
  }

  @Test func sameSeedGivesIdenticalResults() throws {
    let dir = CLI.temporaryDirectory()
    CLI.writeToyDataset(in: dir, train: 200, test: 60)
    let args = ["train", "--model", "logreg", "--epochs", "2", "--data-dir", dir.path, "--json", "--seed", "4"]
    let a = try CLI.run(args).json, b = try CLI.run(args).json
    #expect(a?["test_loss"] as? Double == b?["test_loss"] as? Double)
    #expect(a?["final_train_loss"] as? Double == b?["final_train_loss"] as? Double)
    let c = try CLI.run(Array(args.dropLast()) + ["5"]).json
    #expect(a?["final_train_loss"] as? Double != c?["final_train_loss"] as? Double)
  }

  @Test func corruptDataFileIsAClearErrorNotACrash() throws {
    let dir = CLI.temporaryDirectory()
    CLI.writeToyDataset(in: dir, train: 50, test: 20)
    let labels = dir.appendingPathComponent("train-labels-idx1-ubyte")
    let bytes = try Data(contentsOf: labels)
    try bytes.prefix(bytes.count - 10).write(to: labels)
    let r = try CLI.run(["train", "--data-dir", dir.path])
    #expect(r.status != 0)
    #expect(r.stderr.contains("train-labels-idx1-ubyte") && r.stderr.contains("truncated"))
    #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
  }

  @Test func badOptionsAreExplained() throws {
    let model = try CLI.run(["train", "--model", "resnet"])
    #expect(model.status != 0 && model.stderr.contains("logreg") && model.stderr.contains("cnn"))
    let hidden = try CLI.run(["train", "--hidden", "100,x"])
    #expect(hidden.status != 0 && hidden.stderr.contains("--hidden"))
    let momentum = try CLI.run(["train", "--momentum", "1.5"])
    #expect(momentum.status != 0 && momentum.stderr.contains("momentum"))
    let missing = try CLI.run(["train", "--data-dir", "/nonexistent/byzsim-data"])
    #expect(missing.status != 0 && missing.stderr.contains("/nonexistent/byzsim-data"))
  }

  /// `--sanitize`: the ingestion detectors drop what they flag before training; the JSON says
  /// how many, and the model trains on the rest.
  @Test func sanitizeDropsFlaggedSamplesBeforeTraining() throws {
    let r = try CLI.run([
      "train", "--model", "logreg", "--train-limit", "3000", "--epochs", "1", "--sanitize", "input,clustering", "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let removed = try #require(r.json?["sanitized_removed"] as? Int)
    #expect(removed > 0 && removed < 1500 && r.json?["train_samples"] as? Int == 3000 - removed, "\(r.stdout)")
    #expect(r.stderr.contains("removed \(removed) of 3000 training samples"))
    let plain = try CLI.run(["train", "--model", "logreg", "--train-limit", "3000", "--epochs", "1", "--json"])
    #expect(plain.json?["sanitized_removed"] == nil && plain.json?["train_samples"] as? Int == 3000)
    let bad = try CLI.run(["train", "--model", "logreg", "--train-limit", "100", "--sanitize", "magic"])
    #expect(bad.status != 0 && bad.stderr.contains("unknown detector 'magic'"), "\(bad.stderr)")
  }

  @Test func infoReportsNativeLibraries() throws {
    let r = try CLI.run(["info"])
    #expect(r.status == 0)
    #expect(r.stdout.contains("libzmq 4.") && r.stdout.contains("OpenBLAS"))
  }
}
