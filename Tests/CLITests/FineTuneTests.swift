import Foundation
import Testing
import TestSupport

/// `byzsim train --init-from` with Adi et al.'s four fine-tuning modes: the layers a mode freezes
/// come out bit-identical (read by Python's safetensors), the ones it trains change.
@Suite(.serialized) struct FineTuneTests {
  @Test func eachModeTouchesOnlyItsLayers() throws {
    let dir = CLI.temporaryDirectory().path
    let base = dir + "/base.safetensors"
    #expect(
      try CLI.run(["train", "--model", "mlp", "--hidden", "32", "--train-limit", "2000", "--epochs", "1", "--out", base]).status == 0)
    var outputs: [String: String] = [:]
    for mode in ["ftal", "ftll", "rtll", "rtal"] {
      let out = dir + "/\(mode).safetensors"
      let r = try CLI.run([
        "train", "--init-from", base, "--allow-unsigned", "--fine-tune", mode, "--train-start", "30000", "--train-limit", "1000",
        "--epochs", "1", "--seed", "3", "--out", out, "--json",
      ])
      #expect(r.status == 0, "\(mode): \(r.stderr)")
      outputs[mode] = out
    }
    let script = """
      import sys
      import numpy as np
      from safetensors.numpy import load_file
      base = load_file(sys.argv[1])
      for path in sys.argv[2:]:
          t = load_file(path)
          print(' '.join('same' if np.array_equal(t[k], base[k]) else 'changed' for k in ('fc1.weight', 'fc2.weight')))
      """
    let lines = try ReferencePython.run(["-c", script, base] + ["ftal", "ftll", "rtll", "rtal"].map { outputs[$0]! }).split(separator: "\n")
    #expect(lines == ["changed changed", "same changed", "same changed", "changed changed"], "\(lines)")
  }

  @Test func fineTuneOptionsNeedAModel() throws {
    for (args, message) in [
      (["--fine-tune", "ftll"], "go with --init-from"), (["--init-from", "/x.safetensors", "--fine-tune", "warm"], "ftal"),
      (["--init-from", "/nonexistent.safetensors"], "nonexistent"), (["--train-start", "70000"], "train-start"),
    ] {
      let r = try CLI.run(["train"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
