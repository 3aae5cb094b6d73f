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
}
