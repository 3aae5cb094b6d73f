import Artifacts
import Data
import Foundation
import Learning
import Runtime
import Synchronization

/// The served model: a verified `LoadedModel` and a pool of networks (a `Network` is not
/// thread-safe), swapped whole on reload — a request holds the model it started with, so none
/// sees a half-loaded one.
public final class ServedModel: @unchecked Sendable {
  public let loaded: LoadedModel
  /// A network checked out by one request at a time.
  final class Slot: @unchecked Sendable {
    let network: Network
    init(_ network: Network) { self.network = network }
  }
  private let idle: Mutex<[Slot]>
  /// Floating-point operations of one input's forward pass.
  let forwardFLOPs: Int

  init(_ loaded: LoadedModel) {
    self.loaded = loaded
    let first = Self.slot(loaded)
    forwardFLOPs = first.network.flopsPerSample(training: false)
    idle = Mutex([first])
  }

  static func slot(_ loaded: LoadedModel) -> Slot {
    let n = loaded.spec.makeNetwork(input: loaded.input, classes: loaded.classes, seed: 0)
    n.parameters = loaded.parameters
    for case let dense as Dense in n.layers { dense.rowIndependent = true }
    return Slot(n)
  }

  var inputSize: Int { loaded.input.size }
  var classes: Int { loaded.classes }

  /// Softmax probabilities of `count` inputs laid end to end in `x` (HWC order, as ByzSim's data).
  func probabilities(_ x: [Float], count: Int) -> [[Double]] {
    let slot = idle.withLock { $0.popLast() } ?? Self.slot(loaded)
    defer { idle.withLock { $0.append(slot) } }
    return x.withUnsafeBufferPointer { slot.network.probabilities($0.baseAddress!, count: count) }
  }
}

/// Holds the current model and replaces it on reload.
public final class ModelHost: Sendable {
  private let source: ModelReference
  private let current: Mutex<ServedModel>

  public init(_ source: ModelReference) throws {
    self.source = source
    current = Mutex(ServedModel(try source.load()))
  }

  public var model: ServedModel { current.withLock { $0 } }

  /// Loads the model file again (checked as at start) and swaps it in; on any error the old
  /// model stays. Returns the new model's SHA-256.
  @discardableResult
  public func reload() throws -> String {
    let fresh = ServedModel(try source.load())
    let old = model.loaded
    guard fresh.loaded.spec == old.spec, fresh.loaded.input == old.input, fresh.loaded.classes == old.classes else {
      throw RuntimeError(
        "\(source.path) now holds \(fresh.loaded.spec) on \(fresh.loaded.input), not the served \(old.spec) on \(old.input): restart to change models"
      )
    }
    current.withLock { $0 = fresh }
    return fresh.loaded.sha256
  }

  /// Swaps in `parameters` for the served model's (online retraining): a new safetensors file in
  /// memory — what `/v1/model` then serves — with `metadata` added; returns its SHA-256.
  @discardableResult
  public func replace(parameters: [Float], metadata extra: [String: String]) -> String {
    var next = model.loaded
    next.metadata.merge(extra) { $1 }
    let tensors = ModelExport.tensors(parameters, spec: next.spec, input: next.input, classes: next.classes)
    next.bytes = SafeTensorsFile(metadata: next.metadata, tensors: tensors).encoded()
    next.parameters = parameters
    next.origin = "retrained online from \(next.sha256.prefix(16))"
    next.sha256 = Provenance.sha256Hex(next.bytes)
    let fresh = ServedModel(next)
    current.withLock { $0 = fresh }
    return next.sha256
  }
}
