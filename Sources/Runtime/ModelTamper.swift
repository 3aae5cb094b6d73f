import Artifacts
import Attacks
import Foundation
import Learning

/// The storage-stage attack on a file: plants `WeightBackdoor` in a run's checkpoint.bin or in a
/// model.safetensors, rewriting the file as an attacker with write access would (a checkpoint's
/// integrity digest recomputed, since it is no secret) and leaving its signature alone — which is
/// what `--resume` and every model loader then catch.
public enum ModelTamper {
  public static func plant(_ attack: WeightBackdoor, in path: String) throws -> WeightBackdoor.Edit {
    let bytes = try Files.read(path)
    if bytes.starts(with: Array("BZCK".utf8)) { return try plantInCheckpoint(attack, bytes: bytes, path: path) }
    try ModelSource.requireSafeTensors(bytes, path: path)
    let file = try SafeTensorsFile.decode(bytes, path: path)
    let (_, input, classes) = try ModelSource.describe(file, path: path)
    var tensors = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.floats) })
    let edit = try attack.plant(in: &tensors, input: input, classes: classes)
    let changed = file.tensors.map { t in SafeTensorsFile.Tensor(name: t.name, shape: t.shape, floats: tensors[t.name]!) }
    try Files.writeAtomically(SafeTensorsFile(metadata: file.metadata, tensors: changed).encoded(), to: path)
    return edit
  }

  static func plantInCheckpoint(_ attack: WeightBackdoor, bytes: [UInt8], path: String) throws -> WeightBackdoor.Edit {
    let run = RunDirectory(path: (path as NSString).deletingLastPathComponent)
    let topology = try run.loadTopology()
    let manifest = try run.loadManifest()
    let runID = try manifest.runID(path: run.manifestFile)
    let engine = try topology.makeEngine(parameterCount: manifest.modelParameters)
    var cp = try Checkpoint.decode(
      bytes, path: path,
      expecting: .init(
        runID: runID, rounds: topology.rounds, parameterCount: manifest.modelParameters, velocityCount: engine.sgd.velocity.count,
        auditorCount: engine.auditors.count))
    let slots = ModelExport.tensors(cp.parameters, spec: topology.model, input: manifest.input, classes: manifest.classes)
    var tensors = Dictionary(uniqueKeysWithValues: slots.map { ($0.name, $0.floats) })
    let edit = try attack.plant(in: &tensors, input: manifest.input, classes: manifest.classes)
    let file = SafeTensorsFile(tensors: slots.map { SafeTensorsFile.Tensor(name: $0.name, shape: $0.shape, floats: tensors[$0.name]!) })
    cp.parameters = try ModelExport.parameters(
      from: file, spec: topology.model, input: manifest.input, classes: manifest.classes, path: path)
    try Files.writeAtomically(cp.encoded(runID: runID), to: path)
    return edit
  }
}
