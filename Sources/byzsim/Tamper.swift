import ArgumentParser
import Attacks
import Foundation
import Runtime

/// `byzsim tamper`: the storage-stage attack, on your own files, for experiments.
struct Tamper: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Plant a backdoor in a checkpoint.bin or model.safetensors by changing one weight (an attack, for experiments).",
    discussion: """
      Changes one first-layer weight, from one pixel of the backdoor trigger to the hidden unit
      whose output weights favour the target class most (logistic regression: the target's own
      weight), as an attacker who can write the run directory would (after Hong, Carlini &
      Kurakin, NeurIPS 2022). The file's signature is left as it was: byzsim run --resume and
      byzsim predict refuse the file, naming both digests, unless --allow-unsigned.
      Measure the backdoor with: byzsim predict MODEL --trigger-target T.

      Example:
        byzsim tamper runs/default-20261130-101500/checkpoint.bin --backdoor-target 0
      """)

  @Argument(help: "A run's checkpoint.bin or a model.safetensors; rewritten in place.", completion: .file())
  var file: String
  @Option(help: "The class the trigger should produce.")
  var backdoorTarget: Int
  @Option(help: "The new weight (default: 100 / the chosen unit's margin).")
  var strength: Float?
  @Flag(help: "Print one JSON object: tensor, row, column, before, after.")
  var json = false

  func validate() throws {
    if let strength, !strength.isFinite { throw ValidationError("--strength must be a finite number") }
  }

  func run() throws {
    let edit = try ModelTamper.plant(WeightBackdoor(target: backdoorTarget, strength: strength), in: file)
    if json {
      print(String(decoding: try JSONEncoder.snake().encode(edit), as: UTF8.self))
    } else {
      print("\(file): \(edit.tensor)[\(edit.row), \(edit.column)] \(edit.before) -> \(edit.after) (its signature no longer holds)")
    }
  }
}
