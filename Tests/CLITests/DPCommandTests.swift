import Foundation
import Testing

/// `byzsim dp epsilon|sigma`: the JSON keys users script against, and clear errors.
struct DPCommandTests {
  @Test func epsilonPrintsTheContractKeys() throws {
    let r = try CLI.run([
      "dp", "epsilon", "--sigma", "1.12", "--sample-rate", "\(256.0 / 60_000)", "--steps", "14062", "--delta", "1e-5", "--conversion",
      "classic", "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let epsilon = try #require(r.json?["epsilon"] as? Double)
    #expect((epsilon * 100).rounded() / 100 == 2.92)
    #expect(r.json?["order"] as? Double != nil && r.json?["conversion"] as? String == "classic")
  }

  @Test func sigmaSolvesForATargetEpsilon() throws {
    let r = try CLI.run(["dp", "sigma", "--target-epsilon", "2.0", "--sample-rate", "0.01", "--steps", "1000", "--delta", "1e-5", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let sigma = try #require(r.json?["sigma"] as? Double)
    let epsilon = try #require(r.json?["epsilon"] as? Double)
    #expect(sigma > 0.5 && sigma < 5 && epsilon <= 2.0 && epsilon > 1.99)
  }

  @Test func badInputIsAClearError() throws {
    for args in [
      ["dp", "epsilon", "--sigma", "1", "--sample-rate", "2", "--steps", "10", "--delta", "1e-5"],
      ["dp", "epsilon", "--sigma", "nan", "--sample-rate", "0.1", "--steps", "10", "--delta", "1e-5"],
      ["dp", "epsilon", "--sigma", "1", "--sample-rate", "0.1", "--steps", "10", "--delta", "0"],
      ["dp", "epsilon", "--sigma", "1", "--sample-rate", "0.1", "--steps", "10", "--delta", "1e-5", "--conversion", "rdp"],
      ["dp", "epsilon", "--sigma", "1", "--sample-rate", "0.1", "--steps", "10", "--delta", "1e-5", "--orders", "2,x"],
    ] {
      let r = try CLI.run(args)
      #expect(r.status != 0 && r.stderr.contains("Error"), "\(args): \(r.stdout) \(r.stderr)")
    }
  }
}

/// `byzsim train --dp`: the ε it reports is the accountant's for its q and steps.
@Suite(.serialized) struct TrainDPCommandTests {
  @Test func trainWithDPReportsTheEpsilonItSpent() throws {
    let dir = CLI.temporaryDirectory()
    CLI.writeToyDataset(in: dir, train: 400, test: 100)
    let r = try CLI.run([
      "train", "--model", "mlp", "--hidden", "16", "--epochs", "3", "--batch-size", "40", "--lr", "0.5", "--momentum", "0",
      "--data-dir", dir.path, "--json", "--dp", "--clip", "1", "--target-epsilon", "8", "--delta", "1e-3",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let dp = try #require(r.json?["dp"] as? [String: Any])
    let sigma = try #require(dp["noise_multiplier"] as? Double)
    #expect(dp["sample_rate"] as? Double == 0.1 && dp["steps"] as? Int == 30)
    let e = try CLI.run([
      "dp", "epsilon", "--sigma", "\(sigma)", "--sample-rate", "0.1", "--steps", "30", "--delta", "1e-3", "--json",
    ])
    #expect(e.json?["epsilon"] as? Double == dp["epsilon"] as? Double)
    #expect((dp["epsilon"] as? Double ?? 99) <= 8)
    // The toy data set is easy: private training still learns it.
    #expect((r.json?["test_accuracy"] as? Double ?? 0) > 0.5)
  }

  @Test func dpOptionsAreCheckedTogether() throws {
    for args in [
      ["train", "--dp"],
      ["train", "--dp", "--noise-multiplier", "1", "--target-epsilon", "2"],
      ["train", "--noise-multiplier", "1"],
      ["train", "--dp", "--noise-multiplier", "1", "--clip", "0"],
      ["train", "--dp", "--noise-multiplier", "-1"],
      ["train", "--dp", "--target-epsilon", "2", "--delta", "1"],
    ] {
      let r = try CLI.run(args)
      #expect(r.status != 0 && r.stderr.contains("Error"), "\(args): \(r.stderr)")
    }
  }
}
