import Artifacts
import Data
import Foundation
import Learning
import Tensor

/// A model file someone hands ByzSim, with how to check it: the signer's key (default: the key
/// of the run directory that holds it) and whether an unsigned or changed file is let through.
/// Served by `byzsim serve`, and adopted as a run's starting point by `byzsim run --init-from`.
public struct ModelReference: Sendable {
  public var path: String
  public var publicKey: String?
  public var allowUnsigned: Bool

  public init(path: String, publicKey: String? = nil, allowUnsigned: Bool = false) {
    self.path = path
    self.publicKey = publicKey
    self.allowUnsigned = allowUnsigned
  }

  /// Loads it as `ModelSource` does for a run's files: a signature must hold, if not allowed.
  public func load() throws -> LoadedModel {
    try ModelSource.load(path: path, publicKey: publicKey, policy: .required, allowUnsigned: allowUnsigned)
  }
}

/// The model a run starts from instead of its seeded initialisation (`byzsim run --init-from`):
/// a safetensors file (a pickle is refused by name), its signature checked when it has one.
/// `prepare` copies it into the run as init.safetensors and records its SHA-256 in the signed
/// manifest; the coordinator loads that copy only if the digest matches.
extension ModelReference {
  /// Checks the file against the run's model and copies it in; returns its SHA-256.
  func adopt(into run: RunDirectory, spec: ModelSpec, input: ImageShape, classes: Int) throws -> String {
    let loaded = try ModelSource.load(
      path: path, spec: spec, input: input, classes: classes, publicKey: publicKey, policy: .checkedWhenPresent,
      allowUnsigned: allowUnsigned)
    try Files.writeAtomically(loaded.bytes, to: run.initModelFile)
    run.logEvent("initial model: \(loaded.path) (SHA-256 \(loaded.sha256), \(loaded.origin))")
    return loaded.sha256
  }

  /// The coordinator's starting parameters: init.safetensors, checked against the manifest.
  static func initialParameters(run: RunDirectory, digest: String, spec: ModelSpec, input: ImageShape, classes: Int) throws -> [Float] {
    let bytes = try Files.read(run.initModelFile)
    try Integrity.check(bytes, path: run.initModelFile, expected: digest, what: "the initial model")
    let file = try SafeTensorsFile.decode(bytes, path: run.initModelFile)
    return try ModelExport.parameters(from: file, spec: spec, input: input, classes: classes, path: run.initModelFile)
  }
}
