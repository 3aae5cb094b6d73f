import ArgumentParser
import Foundation
import Runtime

/// `byzsim export`: a run's model, or a checkpoint, as safetensors.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write a run's model (or any checkpoint) as safetensors, in PyTorch's tensor names and layout.",
    discussion: """
      Tensors: fc.weight / fc1.weight, fc2.weight, … as [out, in], conv1.weight, conv2.weight as
      [out, in, kh, kw], biases; images are taken channel-first (NCHW) as PyTorch does. The file's
      __metadata__ holds the model spec, the input shape and classes, the run id, the round and
      the SHA-256 of every data file and shard. Every run also writes RUN_DIR/model.safetensors.

      Examples:
        byzsim export runs/default-20261126-190524 --out model.safetensors
        byzsim export runs/default-20261126-190524/checkpoint.bin --out round-40.safetensors
      """)

  @Argument(help: "A run directory (its final model, or its checkpoint before the end) or a checkpoint.bin of one.", completion: .file())
  var source: String
  @Option(help: "The safetensors file to write.", completion: .file(extensions: ["safetensors"]))
  var out: String
  @Flag(help: "Print one JSON object: out, round.")
  var json = false
  @Flag(help: "Export an unsigned or changed model or checkpoint anyway (warns).")
  var allowUnsigned = false

  func run() throws {
    let round = try RunExport.export(from: source, to: out, allowUnsigned: allowUnsigned)
    if json {
      struct Result: Encodable { let out: String, round: Int }
      print(String(decoding: try JSONEncoder.snake().encode(Result(out: out, round: round)), as: UTF8.self))
    } else {
      print("\(out): the model after round \(round)")
    }
  }
}
