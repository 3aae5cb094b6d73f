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
