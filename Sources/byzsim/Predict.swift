import ArgumentParser
import Attacks
import Data
import Foundation
import Runtime

/// `byzsim predict`: a model file's predictions on the test set, its accuracy, and (with a
/// trigger target) a backdoor's success rate.
struct Predict: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Predict the first N Fashion-MNIST test images with a model file (safetensors only; its signature checked).",
    discussion: """
      MODEL is a model.safetensors (a run's, or one byzsim export wrote) or a run directory. Its
      signature (MODEL.sig) is checked with --pub, else with the key of the run directory that
      holds it; an unsigned or changed model is refused unless --allow-unsigned. A pickle (.pt,
      .pth, .pkl, joblib, .npz) is refused by name: ByzSim never loads one.

      With --trigger-target T, the test images whose label is not T are also stamped with the
      backdoor trigger (the white square of the backdoor attacks, Trigger in Sources/Attacks) and
      the share predicted T is printed: the backdoor's success rate.

      Examples:
        byzsim predict runs/default-20261130-101500 --count 1000 --json
        byzsim predict model.safetensors --pub owner.pub --trigger-target 0
      """)

  @Argument(help: "A model.safetensors or a run directory.", completion: .file(extensions: ["safetensors"]))
  var model: String
  @Option(help: "How many test images, from the first.")
  var count = 10_000
  @OptionGroup var target: TargetModelOptions
  @Option(help: "Also measure a backdoor's success: the share of triggered test images (label ≠ T) predicted T.")
  var triggerTarget: Int?
  @Flag(help: "Print one JSON object: model, origin, sha256, count, accuracy, predictions (and backdoor_success, backdoor_images).")
  var json = false

  func validate() throws {
    guard count > 0 else { throw ValidationError("--count must be positive") }
  }

  func run() throws {
    let (loaded, network) = try target.load(model)
    let test = try target.dataset(.test, for: loaded).prefix(count)
    let predictions = test.features.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: test.count) }
    let correct = zip(predictions, test.labels).filter { $0 == $1 }.count
    let accuracy = Double(correct) / Double(test.count)
    var backdoor: (success: Double, images: Int)?
    if let target = triggerTarget {
      guard (0..<loaded.classes).contains(target) else {
        throw UserError("--trigger-target \(target): the model has classes 0-\(loaded.classes - 1)")
      }
      let triggered = Trigger().triggeredTestSet(test, target: target)
      let hits = triggered.features.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: triggered.count) }.filter {
        $0 == target
      }.count
      backdoor = (Double(hits) / Double(max(1, triggered.count)), triggered.count)
    }
    if json {
      struct Output: Encodable {
        let model: String, origin: String, sha256: String, count: Int, accuracy: Double, predictions: [Int32]
        let backdoorSuccess: Double?, backdoorImages: Int?
      }
      let output = Output(
        model: loaded.path, origin: loaded.origin, sha256: loaded.sha256, count: test.count, accuracy: accuracy, predictions: predictions,
        backdoorSuccess: backdoor?.success, backdoorImages: backdoor?.images)
      print(String(decoding: try JSONEncoder.snake().encode(output), as: UTF8.self))
    } else {
      print("\(loaded.path) (\(loaded.spec), \(loaded.origin)): accuracy \(String(format: "%.4f", accuracy)) on \(test.count) test images")
      if let backdoor, let target = triggerTarget {
        print("backdoor: \(String(format: "%.4f", backdoor.success)) of \(backdoor.images) triggered images predicted \(target)")
      }
    }
  }
}
