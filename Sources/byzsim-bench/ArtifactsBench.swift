import Artifacts
import ArgumentParser
import Crypto
import Foundation
import Learning
import Tensor

/// `byzsim-bench artifacts`: model-file speed for the Fang et al. CNN (266,060 parameters,
/// about 1 MB): export to safetensors, read it back, sign it and verify it. Aim (issue 14):
/// export or verify under 10 ms.
struct ArtifactsBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "artifacts", abstract: "Export, read, sign and verify the CNN's safetensors model file (aim: under 10 ms each).")
  @Option(help: "Seconds per measurement.")
  var seconds: Double = 1

  func run() throws {
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    let spec = ModelSpec(kind: .cnn)
    let parameters = spec.makeNetwork(input: shape, classes: 10, seed: 1).parameters
    let file = SafeTensorsFile(tensors: ModelExport.tensors(parameters, spec: spec, input: shape, classes: 10)).encoded()
    let key = Curve25519.Signing.PrivateKey()
    let envelope = try Signing.envelope(for: file, name: "model.safetensors", key: key)
    var failures = 0
    let rows: [(String, () -> Double)] = [
      (
        "export (tensors + encode)",
        { Double(SafeTensorsFile(tensors: ModelExport.tensors(parameters, spec: spec, input: shape, classes: 10)).encoded().count) }
      ),
      (
        "read (decode + import)",
        {
          guard let f = try? SafeTensorsFile.decode(file, path: "m"),
            let p = try? ModelExport.parameters(from: f, spec: spec, input: shape, classes: 10, path: "m")
          else { failures += 1; return 0 }
          return Double(p.count)
        }
      ),
      ("sign (SHA-256 + Ed25519)", { Double((try? Signing.envelope(for: file, name: "m", key: key))?.count ?? 0) }),
      (
        "verify (SHA-256 + Ed25519)",
        {
          do { try Signing.verify(file, path: "m", envelope: envelope, key: key.publicKey); return 1 } catch { failures += 1; return 0 }
        }
      ),
    ]
    print("CNN model file: \(parameters.count) parameters, \(file.count) bytes")
    var checksum = 0.0
    for (name, body) in rows {
      let (rate, sum) = measure(seconds: seconds, body)
      checksum += sum
      let ms = 1000 / rate
      let label = name + String(repeating: " ", count: max(0, 28 - name.count))
      print("  \(label) " + String(format: "%7.3f ms", ms) + "   aim < 10 ms: \(ms < 10 ? "met" : "NOT met")")
    }
    if failures > 0 { throw ValidationError("\(failures) measured calls failed") }
    print("checksum \(checksum)")
  }
}
