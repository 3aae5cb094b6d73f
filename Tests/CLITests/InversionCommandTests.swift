import Foundation
import Testing
import TestSupport

/// `byzsim attack inversion` (MI-Face) on an MLP `byzsim train` wrote: white-box
/// reconstructions that an independently trained evaluator recognises; through the API, full
/// confidences let the numerical attack descend while a label-only policy leaves it at the start.
@Suite(.serialized) struct InversionCommandTests {
  @Test func reconstructionsAreRecognisedAndPoliciesBlindTheAttack() throws {
    let dir = CLI.temporaryDirectory().path
    let model = dir + "/mlp.safetensors"
    // (MI-Face starts from the blank image; a ReLU network whose first layer has no bias, like
    // the one Python writes for the evasion tests, has no gradient there.)
    #expect(try CLI.run(["train", "--model", "mlp", "--train-limit", "5000", "--epochs", "2", "--out", model]).status == 0)
    let white = try CLI.run(["attack", "inversion", model, "--allow-unsigned", "--svg", dir + "/inv.svg", "--json"])
    #expect(white.status == 0, "\(white.stderr)")
    let json = try #require(white.json)
    #expect((json["evaluator_accuracy"] as? Double ?? 0) >= 0.8, "\(white.stdout)")
    #expect((json["mean_distance_to_class_mean"] as? Double ?? 99) < (json["blank_distance_to_class_mean"] as? Double ?? 0))
    #expect((json["classes"] as? [[String: Any]])?.count == 10)
    try ReferencePython.run(["-c", "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])", dir + "/inv.svg"])

    var cost: [String: Double] = [:]
    for output in ["full", "label"] {
      let r = try CLI.run([
        "attack", "inversion", model, "--allow-unsigned", "--gradient", "numerical", "--classes", "1", "--max-queries", "40000",
        "--patience", "10", "--output", output, "--json",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      let c = try #require((r.json?["classes"] as? [[String: Any]])?.first)
      cost[output] = c["cost"] as? Double
      #expect((c["queries"] as? Int ?? 99_999) <= 40000)
    }
    // Label-only answers: every finite difference is zero, the cost never moves from 1.
    #expect(cost["label"] == 1 && cost["full"]! < 0.9, "\(cost)")
  }

  @Test func badArgumentsAreClearErrors() throws {
    for (args, message) in [(["--gradient", "magic"], "gradient"), (["--lambda", "0"], "lambda"), (["--gamma", "1"], "gamma")] {
      let r = try CLI.run(["attack", "inversion", "/nonexistent.safetensors"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
