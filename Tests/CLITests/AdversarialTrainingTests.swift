import Foundation
import Testing

/// `byzsim train --adversarial-eps` (Madry et al.'s PGD training) and `--out`: the hardened
/// model resists PGD far better than the standard one, and the same seed writes the same file.
@Suite(.serialized) struct AdversarialTrainingTests {
  @Test func pgdTrainingBuysRobustness() throws {
    let dir = CLI.temporaryDirectory().path
    let common = ["train", "--model", "mlp", "--train-limit", "6000", "--epochs", "2", "--json"]
    let standard = try CLI.run(common + ["--out", dir + "/std.safetensors"])
    let hardened = try CLI.run(common + ["--adversarial-eps", "0.1", "--out", dir + "/adv.safetensors"])
    #expect(standard.status == 0 && hardened.status == 0, "\(standard.stderr) \(hardened.stderr)")
    #expect(hardened.json?["adversarial_eps"] as? Double != nil && hardened.json?["robust_accuracy"] as? Double != nil)
    var robust: [String: Double] = [:]
    for name in ["std", "adv"] {
      let r = try CLI.run([
        "attack", "evasion", dir + "/\(name).safetensors", "--allow-unsigned", "--method", "pgd", "--eps", "0.1", "--count", "500",
        "--json",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      robust[name] = r.json?["robust_accuracy"] as? Double
    }
    #expect(robust["adv"]! > robust["std"]! + 0.2, "\(robust)")
    // Reproducible: the same seed writes the same bytes.
    let again = try CLI.run(common + ["--adversarial-eps", "0.1", "--out", dir + "/adv2.safetensors"])
    #expect(again.status == 0)
    #expect(
      FileManager.default.contents(atPath: dir + "/adv.safetensors") == FileManager.default.contents(atPath: dir + "/adv2.safetensors"))
  }

  @Test func badCombinationsAreRefused() throws {
    for (args, message) in [
      (["--adversarial-eps", "0.1", "--dp", "--noise-multiplier", "1"], "cannot be combined"),
      (["--adversarial-eps", "-0.1"], "ε"),
      (["--adversarial-eps", "0.1", "--adversarial-steps", "0"], "steps"),
      (["--out", "/nonexistent-dir/x.safetensors", "--train-limit", "50", "--epochs", "1"], "cannot write"),
    ] {
      let r = try CLI.run(["train", "--model", "logreg"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
