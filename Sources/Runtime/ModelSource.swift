import Artifacts
import Crypto
import Data
import Foundation
import Learning
import Scan
import Tensor

/// A model read from a safetensors file: its spec, input, classes and parameters in ByzSim's
/// order, and how its origin was checked.
public struct LoadedModel: Sendable {
  public var path: String
  public var spec: ModelSpec
  public var input: ImageShape
  public var classes: Int
  public var parameters: [Float]
  public var metadata: [String: String]
  /// "verified by KEY.pub", "unsigned", or "signature not checked (--allow-unsigned)".
  public var origin: String
  public var sha256: String
  /// The file's bytes as verified: what is copied or served, never a second read of the path.
  public var bytes: [UInt8]
}

/// The one way ByzSim loads a model someone hands it (`byzsim predict`, `run --init-from`):
/// safetensors only — a pickle is refused by name, since loading one runs whatever code it
/// holds — with its signature checked when it has one.
public enum ModelSource {
  public enum SignaturePolicy: Sendable {
    /// A file without a signature is refused (a loader of a run's model).
    case required
    /// A file without a signature is read with a warning; a signature present must hold.
    case checkedWhenPresent
  }

  /// Refuses a pickle in place of one of ByzSim's files (a checkpoint.bin or model.bin swapped
  /// for a .pt), before anything else is said about it — also under --allow-unsigned.
  public static func refusePickle(_ bytes: [UInt8], path: String) throws {
    let format = bytes.withUnsafeBytes { PickleScanner.format(of: $0) }
    guard format.holdsPickles else { return }
    throw RuntimeError(
      "\(path) is a pickle (\(format.rawValue)), not a ByzSim file: ByzSim never loads pickles, which run code when loaded; "
        + "see what it would run with `byzsim scan \(path)`")
  }

  /// Refuses anything but safetensors, naming what the file is.
  public static func requireSafeTensors(_ bytes: [UInt8], path: String) throws {
    let format = bytes.withUnsafeBytes { PickleScanner.format(of: $0) }
    switch format {
    case .safetensors: return
    case _ where format.holdsPickles:
      throw RuntimeError(
        "\(path) is a pickle (\(format.rawValue)): ByzSim never loads pickles, which run code when loaded. "
          + "See what it would run with `byzsim scan \(path)`; convert it to safetensors in a sandbox you can throw away.")
    case .npy:
      throw RuntimeError("\(path) is a NumPy .npy array, not a model: give a safetensors file (byzsim export writes one)")
    case .byzsim:
      throw RuntimeError("\(path) is a ByzSim checkpoint or model.bin: convert it with `byzsim export \(path) --out FILE.safetensors`")
    default:
      throw RuntimeError("\(path) is not a safetensors file: ByzSim loads models from safetensors only")
    }
  }

  /// Reads the model at `path` (a safetensors file, or a run directory's model.safetensors).
  /// `spec`, `input` and `classes` default to the file's `byzsim.*` metadata. The signature is
  /// checked with `publicKey` (a PEM file), else with the key of the run directory that holds
  /// the file.
  public static func load(
    path given: String, spec: ModelSpec? = nil, input: ImageShape? = nil, classes: Int? = nil, publicKey: String? = nil,
    policy: SignaturePolicy, allowUnsigned: Bool
  ) throws -> LoadedModel {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory) else {
      throw RuntimeError("\(given): no such file or directory; give a model.safetensors or a run directory")
    }
    let path = isDirectory.boolValue ? RunDirectory(path: given).safetensorsFile : given
    let bytes = try Files.read(path)
    try requireSafeTensors(bytes, path: path)
    let origin = try checkSignature(bytes, path: path, publicKey: publicKey, policy: policy, allowUnsigned: allowUnsigned)
    let file = try SafeTensorsFile.decode(bytes, path: path)
    let (fileSpec, fileInput, fileClasses) = try describe(file, path: path, spec: spec, input: input, classes: classes)
    let (spec, input, classes) = (fileSpec, fileInput, fileClasses)
    if let problem = spec.problem(input: input, classes: classes) { throw RuntimeError("\(path): \(problem)") }
    let parameters = try ModelExport.parameters(from: file, spec: spec, input: input, classes: classes, path: path)
    if let bad = parameters.firstIndex(where: { !$0.isFinite }) {
      throw RuntimeError("\(path): parameter \(bad) is \(parameters[bad]); a model with NaN or Inf weights is refused")
    }
    return LoadedModel(
      path: path, spec: spec, input: input, classes: classes, parameters: parameters, metadata: file.metadata, origin: origin,
      sha256: Provenance.sha256Hex(bytes), bytes: bytes)
  }

  /// The model a file holds: `spec`, `input` and `classes` when given, else its `byzsim.*` metadata.
  public static func describe(
    _ file: SafeTensorsFile, path: String, spec: ModelSpec? = nil, input: ImageShape? = nil, classes: Int? = nil
  ) throws -> (ModelSpec, ImageShape, Int) {
    func meta(_ key: String) throws -> String {
      guard let value = file.metadata[key] else {
        throw RuntimeError("\(path): no \(key) in __metadata__; say which model it is (a file byzsim export wrote has it)")
      }
      return value
    }
    let spec =
      try spec
      ?? { () throws -> ModelSpec in
        let text = try meta("byzsim.model")
        guard let s = ModelSpec(parsing: text) else { throw RuntimeError("\(path): byzsim.model \"\(text)\" is not a model ByzSim builds") }
        return s
      }()
    let input =
      try input
      ?? { () throws -> ImageShape in
        let text = try meta("byzsim.input")
        let parts = text.split(separator: "x").map { Int($0) }
        guard parts.count == 3, let h = parts[0], let w = parts[1], let c = parts[2], h > 0, w > 0, c > 0, h * w * c <= 1 << 24 else {
          throw RuntimeError("\(path): byzsim.input \"\(text)\" is not HEIGHTxWIDTHxCHANNELS")
        }
        return ImageShape(height: h, width: w, channels: c)
      }()
    let classes =
      try classes
      ?? {
        let text = try meta("byzsim.classes")
        guard let n = Int(text), (2...65_536).contains(n) else {
          throw RuntimeError("\(path): byzsim.classes \"\(text)\" is not a class count")
        }
        return n
      }()
    return (spec, input, classes)
  }

  /// Checks `FILE.sig`; returns how the origin was established.
  static func checkSignature(
    _ bytes: [UInt8], path: String, publicKey: String?, policy: SignaturePolicy, allowUnsigned: Bool
  ) throws -> String {
    let signature = Signing.signaturePath(path)
    let runKey = RunDirectory(path: (path as NSString).deletingLastPathComponent).signingPublicFile
    let keyFile = publicKey ?? (FileManager.default.fileExists(atPath: runKey) ? runKey : nil)
    do {
      guard FileManager.default.fileExists(atPath: signature) else {
        if policy == .checkedWhenPresent && keyFile == nil {
          FileHandle.standardError.write(Data("byzsim: note: \(path) is unsigned: its origin is not checked\n".utf8))
          return "unsigned"
        }
        throw SigningError(path: path, message: "unsigned: no \(signature)")
      }
      guard let keyFile else {
        throw SigningError(path: path, message: "signed, but no key to check it with: give the signer's public key (--pub KEY.pub)")
      }
      let key = try Signing.publicKey(pem: String(decoding: try Files.read(keyFile), as: UTF8.self), path: keyFile)
      try Signing.verify(bytes, path: path, envelope: try Files.read(signature), key: key)
      return "verified by \(keyFile)"
    } catch {
      guard allowUnsigned else {
        throw RuntimeError("\(error); refusing to load it (pass --allow-unsigned to load it anyway, at your own risk)")
      }
      FileHandle.standardError.write(
        Data("byzsim: WARNING: loading \(path) although its signature does not hold (--allow-unsigned): \(error)\n".utf8))
      return "signature not checked (--allow-unsigned)"
    }
  }
}
