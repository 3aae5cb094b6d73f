import ArgumentParser
import Data
import Foundation
import Runtime
import Tensor
import Watermark

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `byzsim watermark`: make a trigger set, and test a model or a server for it.
struct WatermarkCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "watermark",
    abstract: "Backdoor watermarks (Adi et al. 2018): trigger sets and ownership tests.",
    discussion: """
      Examples:
      byzsim watermark triggers --out marks/ --count 100 --seed 7      # abstract images, random labels
      byzsim train --model mlp --watermark marks/ --out owned.safetensors
      byzsim watermark verify owned.safetensors --triggers marks/       # matches and the binomial p-value
      byzsim watermark verify http://127.0.0.1:8080 --token T --triggers marks/
      """,
    subcommands: [WatermarkTriggers.self, WatermarkVerify.self])
}

struct WatermarkTriggers: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "triggers", abstract: "Write a trigger set (DIR/images.csv, DIR/labels.csv) for 28×28×1 inputs in 10 classes.",
    discussion: """
      Example:
        byzsim watermark triggers --out marks/ --count 100 --seed 7
      """)
  @Option(help: "The directory to write.")
  var out: String
  @Option(help: "Trigger images.")
  var count = 100
  @Option(help: "Seed of the images and labels (keep it secret).")
  var seed: UInt64 = 1

  func run() throws {
    guard (1...100_000).contains(count) else { throw ValidationError("--count must be 1 to 100000: got \(count)") }
    let set = TriggerSet.generate(count: count, shape: ImageShape(height: 28, width: 28, channels: 1), classes: 10, seed: seed)
    do { try set.write(to: out) } catch {
      throw UserError("cannot write the trigger set to \(out): \((error as NSError).localizedDescription)")
    }
    print("\(count) trigger images with random labels written to \(out)/images.csv and \(out)/labels.csv")
  }
}

struct WatermarkVerify: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Count a model's (or a server's) answers that match the trigger labels; p-value against chance.",
    discussion: """
      TARGET is a model file (its signature checked as by byzsim predict) or a server's base URL
      (http://HOST:PORT; the triggers are POSTed to /v1/predict with --token, in batches of 32).
      p = P(X ≥ matches), X ~ Binomial(triggers, 1/classes): for 100 triggers and 10 classes,
      20 matches give p ≈ 1.98e-3. --json keys: matches, triggers, classes, p_value, verified.

      Examples:
        byzsim watermark verify owned.safetensors --triggers marks/ --json
        byzsim watermark verify http://127.0.0.1:8080 --token T --triggers marks/
      """)
  @Argument(help: "A model.safetensors, a run directory, or http://HOST:PORT.")
  var target: String
  @Option(help: "The trigger directory (images.csv, labels.csv).")
  var triggers: String
  @Option(help: "A predict token, for a server.")
  var token: String?
  @Option(help: "Verified when p is below this.")
  var alpha = 0.01
  @Option(help: "The signer's public key (PEM), for a model file outside its run directory.")
  var pub: String?
  @Flag(help: "Load an unsigned or changed model anyway (warns).")
  var allowUnsigned = false
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() async throws {
    guard alpha > 0 && alpha < 1 else { throw ValidationError("--alpha must be in (0, 1): got \(alpha)") }
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let labels: [Int32]
    let set: TriggerSet
    // A server does not say its model's shape: Fashion-MNIST's 28×28×1 in 10 classes is assumed.
    var classes = 10
    if target.hasPrefix("http://") || target.hasPrefix("https://") {
      set = try load(shape: shape, classes: classes)
      labels = try await ask(server: target, set)
    } else {
      let loaded = try ModelSource.load(path: target, publicKey: pub, policy: .required, allowUnsigned: allowUnsigned)
      classes = loaded.classes
      set = try load(shape: loaded.input, classes: classes)
      let network = loaded.spec.makeNetwork(input: loaded.input, classes: loaded.classes, seed: 0)
      network.parameters = loaded.parameters
      labels = set.images.withUnsafeBufferPointer { network.predict($0.baseAddress!, count: set.count) }
    }
    let matches = zip(labels, set.labels).filter { $0 == $1 }.count
    let p = WatermarkTest.pValue(matches: matches, of: set.count, classes: classes)
    let verified = p < alpha
    if json {
      print("{\"matches\":\(matches),\"triggers\":\(set.count),\"classes\":\(classes),\"p_value\":\(p),\"verified\":\(verified)}")
    } else {
      print(
        "\(matches) of \(set.count) trigger labels matched (chance: \(set.count / classes)); p = \(String(format: "%.3g", p)) → "
          + (verified ? "watermark present (p < \(alpha))" : "not shown"))
    }
  }

  func load(shape: ImageShape, classes: Int) throws -> TriggerSet {
    do { return try TriggerSet.read(from: triggers, shape: shape, classes: classes) } catch let e as TriggerSet.Invalid {
      throw UserError(e.description)
    }
  }

  /// The labels a server gives the triggers (any output policy shows the label).
  func ask(server: String, _ set: TriggerSet) async throws -> [Int32] {
    guard let url = URL(string: server.hasSuffix("/") ? server + "v1/predict" : server + "/v1/predict") else {
      throw UserError("\(server) is not a URL")
    }
    var labels: [Int32] = []
    let d = set.shape.size
    var start = 0
    while start < set.count {
      let n = min(32, set.count - start)
      let rows = (start..<(start + n)).map { i in "[" + set.images[(i * d)..<((i + 1) * d)].map { "\($0)" }.joined(separator: ",") + "]" }
      var request = URLRequest(url: url)
      request.httpMethod = "POST"
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
      if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
      request.httpBody = Data("{\"inputs\":[\(rows.joined(separator: ","))]}".utf8)
      let (data, response): (Data, URLResponse)
      do { (data, response) = try await URLSession.shared.data(for: request) } catch {
        throw UserError("cannot reach \(url): \(error.localizedDescription)")
      }
      let status = (response as? HTTPURLResponse)?.statusCode ?? 0
      guard status == 200 else {
        throw UserError("\(url) answered \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
      }
      guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let outputs = json["outputs"] as? [[String: Any]],
        outputs.count == n
      else {
        throw UserError("\(url) answered something other than a predict response: \(String(decoding: data.prefix(300), as: UTF8.self))")
      }
      for o in outputs {
        guard let label = o["label"] as? Int else { throw UserError("\(url): an output without a label") }
        labels.append(Int32(label))
      }
      start += n
    }
    return labels
  }
}
