import ArgumentParser
import Artifacts
import Foundation
import Runtime
import Serving
import Tensor

/// `byzsim attack leak`: the receiver of a backdoored model that leaks its training data — the
/// capacity-abuse channel a run's covert worker planted — querying the model file or a server.
struct LeakCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "leak",
    abstract: "Read a run's capacity-abuse channel back from its model: the file, or byzsim serve through its policies.",
    discussion: """
      The run's covert worker (covert = { name = "capacity_abuse" }) trained the model to give
      secret-carrying labels to synthetic inputs only it and its accomplice can regenerate (Song
      et al. 2017). The receiver regenerates them from the run's seed, asks the target for their
      labels, and reads the bits back; the run's shard is the ground truth it is measured against.
      The target is the run's model (default), another model file with --output (a simulated
      policy), or a server, http://HOST:PORT with --token: its answers through its output policy,
      budget, rate limit and query auditor (a refusal or a spent budget ends the queries and the
      receiver keeps what it got). Example:
        byzsim attack leak http://127.0.0.1:8080 --token T --run runs/covert-capacity_abuse --json
      --json keys: target, worker, output, inputs, answered, bits, bit_accuracy, label_accuracy,
      bits_recovered, leaked_bits (Shannon bits, the answered labels as a symmetric channel),
      initial_label_accuracy (the never-trained model: no channel), chance_label_accuracy, and for
      a server stopped, rate_limited, waited_seconds.
      """)

  @Argument(help: "A model.safetensors or a server's http://HOST:PORT (default: the run's model).")
  var target: String?
  @Option(name: .customLong("run"), help: "The run directory whose covert worker planted the channel.", completion: .directory)
  var runDirectory: String
  @Option(help: "The covert worker (default: the run's only capacity-abuse worker).")
  var worker: Int?
  @Option(help: "A server target: the predict token.")
  var token: String?
  @OptionGroup var shown: OutputPolicyOptions
  @Option(help: "Seed of a simulated policy's noise.")
  var seed: UInt64 = 1
  @OptionGroup var model: TargetModelOptions
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    let directory = RunDirectory(path: runDirectory)
    let receiver: CapacityAbuseReceiver
    do { receiver = try CapacityAbuseReceiver(run: directory, worker: worker) } catch let e as RuntimeError { throw UserError(e.message) }
    let target = self.target ?? (runDirectory as NSString).appendingPathComponent("model.safetensors")
    let remote = target.hasPrefix("http://") || target.hasPrefix("https://")
    let progress = ProgressLine()
    progress.update("leak: asking for the labels of \(receiver.count) synthetic inputs", force: true)
    var answers: [[Double]]
    var server: ServerOracle?
    if remote {
      let oracle = try ServerOracle(target, token: token, classes: receiver.classes)
      answers = try oracle.ask(receiver.inputs, receiver.count, inputSize: receiver.inputSize)
      server = oracle
    } else {
      let (loaded, network) = try model.load(target)
      guard loaded.input.size == receiver.inputSize, loaded.classes == receiver.classes else {
        throw UserError(
          "\(target) takes \(loaded.input.size) values in \(loaded.classes) classes; the run's channel needs \(receiver.inputSize) in \(receiver.classes)"
        )
      }
      var rng = RandomStream(seed: seed, purpose: .noise, 0x4C45)
      let policy = shown.policy
      answers = receiver.inputs.withUnsafeBufferPointer { network.probabilities($0.baseAddress!, count: receiver.count) }
        .map { policy.observed($0, rng: &rng) }
    }
    let labels = answers.map { p in
      var best = 0
      for k in p.indices where p[k] > p[best] { best = k }
      return Int32(best)
    }
    let m = receiver.measure(labels)
    progress.finish(
      String(
        format: "leak: %d of %d labels answered, %.0f bits recovered, label accuracy %.4f", labels.count, receiver.count,
        m["bits_recovered"]!, m["label_accuracy"]!))
    var fields: [(String, String)] = [
      ("target", JSONString.quoted(target)), ("worker", "\(receiver.worker)"),
      ("output", remote ? "\"server\"" : "\"\(shown.output.rawValue)\""),
    ]
    for key in [
      "inputs", "answered", "bits", "bit_accuracy", "label_accuracy", "bits_recovered", "leaked_bits", "initial_label_accuracy",
      "chance_label_accuracy",
    ] {
      let v = m[key]!
      fields.append((key, ["inputs", "answered", "bits", "bits_recovered"].contains(key) ? "\(Int(v))" : "\(v)"))
    }
    if let server { fields += server.jsonFields }
    if json {
      print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    } else {
      print(
        String(
          format:
            "worker %d's channel through %@: %d of %d inputs answered%@; %.0f of %.0f bits recovered (label accuracy %.4f, chance %.4f, untrained model %.4f); %.1f bits leaked",
          receiver.worker, remote ? target : shown.output.rawValue, labels.count, receiver.count,
          server?.stopped.map { " (stopped: \($0))" } ?? "", m["bits_recovered"]!, m["bits"]!, m["label_accuracy"]!,
          m["chance_label_accuracy"]!, m["initial_label_accuracy"]!, m["leaked_bits"]!))
    }
  }
}
