import Artifacts
import Learning
import Tensor
import Foundation

/// A run's model as safetensors: the final model (`model.safetensors`, written at the end of
/// every run) or any checkpoint (`byzsim export`), with the model spec, the run nonce, the round
/// and the data digests in `__metadata__`.
public enum RunExport {
  /// The safetensors bytes of `parameters`, the model of `run` after `round` rounds.
  public static func safetensors(
    _ run: RunDirectory, topology: Topology, manifest: RunManifest, parameters: [Float], round: Int
  ) throws -> [UInt8] {
    let files: [String] = manifest.dataFiles.map { f in "\((f.path as NSString).lastPathComponent)=\(f.sha256)" }
    let shards: [String] = manifest.shards.enumerated().map { s in "shard-\(s.offset)=\(s.element)" }
    let data = files + shards
    let metadata: [String: String] = [
      "format": "pt",
      "byzsim.model": topology.model.description,
      "byzsim.input": "\(manifest.input.height)x\(manifest.input.width)x\(manifest.input.channels)",
      "byzsim.classes": String(manifest.classes),
      "byzsim.run_id": manifest.runNonce,
      "byzsim.run": topology.name,
      "byzsim.seed": String(manifest.seed),
      "byzsim.round": String(round),
      "byzsim.data_sha256": data.joined(separator: ";"),
    ]
    let tensors = ModelExport.tensors(parameters, spec: topology.model, input: manifest.input, classes: manifest.classes)
    return SafeTensorsFile(metadata: metadata, tensors: tensors).encoded()
  }

  /// A model trained outside a run (`byzsim train --out`) as safetensors, written atomically:
  /// the spec, input and classes in `__metadata__`, with `extra` (seed, data digests, …).
  public static func writeTrained(
    _ parameters: [Float], spec: ModelSpec, input: ImageShape, classes: Int, metadata extra: [String: String], to path: String
  ) throws {
    var metadata = extra
    metadata["format"] = "pt"
    metadata["byzsim.model"] = spec.description
    metadata["byzsim.input"] = "\(input.height)x\(input.width)x\(input.channels)"
    metadata["byzsim.classes"] = String(classes)
    let tensors = ModelExport.tensors(parameters, spec: spec, input: input, classes: classes)
    try Files.writeAtomically(SafeTensorsFile(metadata: metadata, tensors: tensors).encoded(), to: path)
  }

  /// Exports a run directory's final model (or, before the end, its checkpoint), or a checkpoint
  /// file of a run directory, to `out`. Returns the round the model is at.
  @discardableResult
  public static func export(from path: String, to out: String, allowUnsigned: Bool = false) throws -> Int {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw FileFormatError(path: path, message: "no such file or directory; give a run directory or a checkpoint.bin")
    }
    let run = RunDirectory(path: isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent)
    let topology = try run.loadTopology()
    let manifest = try run.loadManifest()
    let parameters: [Float], round: Int
    if isDirectory.boolValue && FileManager.default.fileExists(atPath: run.modelFile) {
      let bytes = try Files.read(run.modelFile)
      try ModelSource.refusePickle(bytes, path: run.modelFile)
      try RunVerifier.check(bytes, path: run.modelFile, run: run, allowUnsigned: allowUnsigned)
      parameters = try ModelFile.decode(bytes, path: run.modelFile)
      round = topology.rounds
    } else {
      let file = isDirectory.boolValue ? run.checkpointFile : path
      let engine = try topology.makeEngine(parameterCount: manifest.modelParameters)
      let bytes = try Files.read(file)
      try ModelSource.refusePickle(bytes, path: file)
      try RunVerifier.check(bytes, path: file, run: run, allowUnsigned: allowUnsigned)
      let cp = try Checkpoint.decode(
        bytes, path: file,
        expecting: .init(
          runID: try manifest.runID(path: run.manifestFile), rounds: topology.rounds, parameterCount: manifest.modelParameters,
          velocityCount: engine.sgd.velocity.count, auditorCount: engine.auditors.count))
      (parameters, round) = (cp.parameters, cp.nextRound)
    }
    guard parameters.count == manifest.modelParameters else {
      throw FileFormatError(
        path: run.modelFile, message: "holds \(parameters.count) parameters, the run's model has \(manifest.modelParameters)")
    }
    try Files.writeAtomically(try safetensors(run, topology: topology, manifest: manifest, parameters: parameters, round: round), to: out)
    return round
  }
}
