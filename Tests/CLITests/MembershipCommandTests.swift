import Foundation
import Testing
import TestSupport

/// `byzsim attack membership` end to end on Fashion-MNIST: an overfitted target leaks, LiRA
/// finds more members at a low FPR than the loss threshold, a label-only policy blinds the
/// confidence attack, and the ROC plot is well-formed SVG.
@Suite(.serialized) struct MembershipCommandTests {
  @Test func anOverfittedTargetLeaksAndLiRAFindsIt() throws {
    let svg = CLI.temporaryDirectory().appendingPathComponent("roc.svg").path
    let r = try CLI.run([
      "attack", "membership", "--members", "300", "--epochs", "40", "--shadows", "8", "--shokri-shadows", "2", "--svg", svg, "--json",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let attacks = try #require(r.json?["attacks"] as? [String: [String: Double]])
    #expect(
      Set(attacks.keys) == [
        "loss", "confidence", "shadow", "lira-online", "lira-offline", "lira-online-fixed", "lira-offline-fixed", "label-only",
      ])
    #expect((r.json?["target_train_accuracy"] as? Double ?? 0) > (r.json?["target_test_accuracy"] as? Double ?? 1) + 0.1)
    for (name, figures) in attacks {
      #expect(figures["auc"]! > 0.55, "\(name): \(figures)")
      #expect(Set(figures.keys) == ["auc", "tpr_at_fpr_0.001", "tpr_at_fpr_0.01", "balanced_accuracy"])
    }
    #expect(attacks["lira-online-fixed"]!["tpr_at_fpr_0.01"]! > attacks["loss"]!["tpr_at_fpr_0.01"]!)
    try ReferencePython.run(["-c", "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])", svg])

    // Label-only output: every confidence is 1, so the confidence attack is at chance.
    let l = try CLI.run([
      "attack", "membership", "--members", "100", "--epochs", "20", "--shadows", "2", "--shokri-shadows", "1", "--output", "label",
      "--json",
    ])
    #expect(l.status == 0, "\(l.stderr)")
    let blind = try #require(l.json?["attacks"] as? [String: [String: Double]])
    #expect(blind["confidence"]?["auc"] == 0.5)
  }

  /// `--dp`: every model trains with DP-SGD; the JSON's ε is the accountant's for the target's
  /// schedule (q = 32/300, 10 epochs of ⌊300/32⌋ = 9 steps) — what `byzsim dp epsilon` prints —
  /// and without --dp the key is null.
  @Test func dpTrainingReportsItsEpsilon() throws {
    let common = ["attack", "membership", "--members", "300", "--shadows", "4", "--shokri-shadows", "2", "--epochs", "10", "--json"]
    let r = try CLI.run(common + ["--dp", "--noise-multiplier", "1.5"])
    #expect(r.status == 0, "\(r.stderr)")
    let dp = try #require(r.json?["dp"] as? [String: Any])
    let reference = try CLI.run([
      "dp", "epsilon", "--sigma", "1.5", "--sample-rate", "\(32.0 / 300.0)", "--steps", "90", "--delta", "1e-5", "--json",
    ])
    let e = try #require(reference.json?["epsilon"] as? Double)
    #expect(abs((dp["epsilon"] as? Double ?? 0) - e) < 1e-9 && dp["noise_multiplier"] as? Double == 1.5, "\(dp) vs \(e)")
    let plain = try CLI.run(common)
    #expect(plain.json?["dp"] is NSNull)
  }

  @Test func impossibleSettingsAreClearErrors() throws {
    for (args, message) in [
      (["--members", "20000"], "images are needed"), (["--shadows", "1"], "shadow"), (["--decimals", "12"], "decimals"),
      (["--output", "logits"], "output"),
    ] {
      let r = try CLI.run(["attack", "membership"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
