import Data
import Foundation
import Testing
import TestSupport

/// `byzsim attack extraction` against a softmax regression Python wrote: equation solving
/// recovers it from d + 1 = 785 full-probability answers, label-only answers defeat it, and a
/// substitute learns the MLP that Python trained for the evasion tests.
@Suite(.serialized) struct ExtractionCommandTests {
  @Test func equationSolvingStealsASoftmaxModelExactly() throws {
    let dir = CLI.temporaryDirectory().path
    let model = dir + "/logreg.safetensors"
    try ReferencePython.run([
      "-c",
      """
      import sys
      import numpy as np
      from safetensors.numpy import save_file
      rng = np.random.default_rng(11)
      save_file({"fc.weight": rng.normal(0, 0.1, (10, 784)).astype(np.float32), "fc.bias": rng.normal(0, 0.1, 10).astype(np.float32)},
                sys.argv[1], metadata={"byzsim.model": "logreg", "byzsim.input": "28x28x1", "byzsim.classes": "10"})
      """, model,
    ])
    let r = try CLI.run(["attack", "extraction", model, "--allow-unsigned", "--method", "equations", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    // Exact up to rounding: at most one test image in 1,000 whose two top logits nearly tie.
    #expect(r.json?["queries"] as? Int == 785 && (r.json?["fidelity"] as? Double ?? 0) >= 0.999, "\(r.stdout)")
    #expect((r.json?["parameter_error"] as? Double ?? 1) < 1e-3, "\(r.stdout)")
    let label = try CLI.run(["attack", "extraction", model, "--allow-unsigned", "--method", "equations", "--output", "label"])
    #expect(label.status != 0 && label.stderr.contains("usable equations"), "\(label.stderr)")
  }

  @Test func aSubstituteLearnsTheTargetFromItsLabels() throws {
    let dir = CLI.temporaryDirectory().path
    let model = dir + "/mlp.safetensors"
    _ = try ReferencePython.run(["-c", EvasionCommandTests.script, model, "10"])
    var fidelity: [String: Double] = [:]
    for strategy in ["random", "indist"] {
      let r = try CLI.run([
        "attack", "extraction", model, "--allow-unsigned", "--method", "learning", "--strategy", strategy, "--budget", "800", "--output",
        "label", "--json",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.json?["queries"] as? Int == 800)
      fidelity[strategy] = r.json?["fidelity"] as? Double
    }
    // In-distribution queries teach the copy the target; uniform noise barely does.
    #expect(fidelity["indist"]! > 0.7 && fidelity["indist"]! > fidelity["random"]! + 0.2, "\(fidelity)")
  }

  /// Through a real server: the query auditor stops equation solving's random queries after one
  /// window (a clear error: 128 of the 785 answers it needs), a budget caps a learning attack (it
  /// uses the 300 it gets), the auditor refuses a noise-sending thief too, and what the server
  /// answers is exactly what the same attack simulated on the file sees (the same fidelity).
  @Test func throughAServerTheBudgetAndTheAuditorBind() throws {
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.defaultDirectory).dataset
    let dir = CLI.temporaryDirectory().path
    try ServeTests.writeReference(test, images: 0..<300, to: dir + "/reference.csv")
    func hash(_ t: String) throws -> String {
      try CLI.run(["serve", "--hash-token", t]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let (config, model, _) = try ServeTests.deployment(
      extra: """
        [query_audit]
        reference = "\(dir)/reference.csv"
        window = 100
        every = 50
        action = "refuse"
        [[credentials]]
        id = "thief"
        role = "predict"
        token_sha256 = "\(try hash("thief-token-0123456789"))"
        budget = 300
        [[credentials]]
        id = "rich"
        role = "predict"
        token_sha256 = "\(try hash("rich-token-01234567890"))"
        """)
    let server = try ServerProcess([model, "--config", config])
    defer { server.stop() }
    let url = "http://127.0.0.1:\(server.port)"
    let base = ["attack", "extraction", url, "--evaluate-with", model, "--json"]
    // Equation solving's uniform random queries (sent 64 to a request): the window of 100 fills
    // in the second request, whose test flags the thief; the third is refused — 128 answers of
    // the 785 it needs (and before its budget of 300).
    let equations = try CLI.run(base + ["--token", "thief-token-0123456789", "--method", "equations"])
    #expect(
      equations.status != 0 && equations.stderr.contains("answered 128 of the 785 queries (refused)"), "\(equations.stderr)")
    // In-distribution queries pass the auditor and meet the budget (a fresh server: the thief is flagged on this one).
    let second = try ServerProcess([model, "--config", config])
    defer { second.stop() }
    let learning = try CLI.run([
      "attack", "extraction", "http://127.0.0.1:\(second.port)", "--evaluate-with", model, "--json", "--token", "thief-token-0123456789",
      "--method", "learning", "--strategy", "indist", "--budget", "500",
    ])
    #expect(learning.status == 0, "\(learning.stderr)")
    #expect(learning.json?["answered"] as? Int == 300 && learning.json?["queries"] as? Int == 300, "\(learning.stdout)")
    #expect(learning.json?["stopped"] as? String == "budget" && learning.json?["output"] as? String == "server")
    // Same answers as the simulation: in-distribution queries from the unflagged, unlimited
    // credential under the full policy give the copy the file-simulated attack gives.
    let through = try CLI.run([
      "attack", "extraction", "http://127.0.0.1:\(second.port)", "--evaluate-with", model, "--json", "--token", "rich-token-01234567890",
      "--method", "learning", "--strategy", "indist", "--budget", "200",
    ])
    let simulated = try CLI.run([
      "attack", "extraction", model, "--json", "--method", "learning", "--strategy", "indist", "--budget", "200",
    ])
    #expect(through.status == 0 && simulated.status == 0, "\(through.stderr) \(simulated.stderr)")
    #expect(through.json?["fidelity"] as? Double == simulated.json?["fidelity"] as? Double, "\(through.stdout) vs \(simulated.stdout)")
    // (After that, the same credential:) the auditor: uniform-noise queries from an unlimited credential are refused after a window.
    let noise = try CLI.run(
      base + ["--token", "rich-token-01234567890", "--method", "learning", "--strategy", "random", "--budget", "1000"])
    #expect(noise.status == 0, "\(noise.stderr)")
    let answered = try #require(noise.json?["answered"] as? Int)
    #expect(noise.json?["stopped"] as? String == "refused" && answered >= 100 && answered < 1000, "\(noise.stdout)")
  }
}
