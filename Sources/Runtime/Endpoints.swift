import Foundation
import Transport

/// Which process of a run is loading its wiring: each role reads only its own secret key.
public enum Role: Sendable, Equatable, CustomStringConvertible {
  case coordinator
  case worker(Int)
  case hub
  /// The `run` front end and threads mode: reads no secret (threads talk over inproc://, where
  /// libzmq applies no security mechanism).
  case launcher

  /// The name of the role's key file (`keys/<name>.secret`) and of its bundle entry.
  public var description: String {
    switch self {
    case .coordinator: "coordinator"
    case let .worker(id): "worker-\(id)"
    case .hub: "hub"
    case .launcher: "launcher"
    }
  }

  /// Parses `coordinator`, `hub` or `worker-I`.
  public init?(_ text: String) {
    switch text {
    case "coordinator": self = .coordinator
    case "hub": self = .hub
    default:
      guard text.hasPrefix("worker-"), let id = Int(text.dropFirst("worker-".count)), id >= 0 else { return nil }
      self = .worker(id)
    }
  }
}

/// Where the coordinator listens, and the security material one role needs: every public key
/// of the run and that role's own key pair — never another role's secret.
public struct Wiring: Sendable {
  /// Where the coordinator binds.
  public var endpoint: String
  /// Where workers connect: the coordinator's endpoint, or a wiretap in front of it.
  public var workerEndpoint: String
  public var curve: Bool
  /// The run's random nonce (from `prepare`): the run id of every frame.
  public var runID: UInt64
  /// The model's parameter count (from the manifest): sizes payload checks and message caps.
  public var modelSize: Int
  /// Present when CURVE is on.
  public var coordinatorPublicKey: String?
  public var workerPublicKeys: [Int: String] = [:]
  /// The adversary hub (runs with update attacks).
  public var hubEndpoint: String = ""
  public var hubPublicKey: String?
  /// This role's own key pair (CURVE on, and a role that has one).
  public var ownKeys: CurveKeyPair?

  /// Secure aggregation's messages, in runs that use it: the workers whose keys and shares a
  /// roster or a set of shares may carry (0: not a secure run).
  public var secureAggregationWorkers = 0
  /// Workers send a start-up measurement (`security.attestation` not off, processes).
  public var attesting = false

  /// The largest message part a network-facing socket accepts: a model or update payload plus
  /// a little slack (a CURVE box adds 33 bytes), so nobody pushes more before authentication.
  /// Secure runs also take a masked input (8 bytes a parameter) and the protocol's key messages.
  public var maxMessageSize: Int {
    let secure = secureAggregationWorkers > 0 ? max(8 * modelSize, 4096 + 256 * secureAggregationWorkers) : 0
    return max(4 * modelSize, secure, attesting ? FrameDecoder.maxAttestation : 0, FrameHeader.size) + 1024
  }

  /// The wiring recorded in a run directory for `role` (`threads` forces an inproc endpoint).
  public static func load(run: RunDirectory, topology: Topology, role: Role, threads: Bool) throws -> Wiring {
    let manifest = try run.loadManifest()
    let endpoint: String
    switch topology.coordinator.endpoint {
    case _ where threads: endpoint = "inproc://byzsim-coordinator"
    case "ipc": endpoint = run.ipcEndpoint
    case "inproc": endpoint = "inproc://byzsim-coordinator"
    default: endpoint = topology.coordinator.endpoint
    }
    // Threads share one process: inproc:// has no wire to encrypt, and libzmq applies no
    // security mechanism to it, so identity falls back to routing ids.
    let hubAddress = endpoint.hasPrefix("inproc://") ? "inproc://byzsim-hub" : run.hubEndpoint
    var workerEndpoint = endpoint
    if !threads, topology.hasEavesdropper, FileManager.default.fileExists(atPath: run.tapEndpointFile) {
      workerEndpoint = String(decoding: try Files.read(run.tapEndpointFile), as: UTF8.self)
    }
    var w = Wiring(
      endpoint: endpoint, workerEndpoint: workerEndpoint, curve: false, runID: try manifest.runID(path: run.manifestFile),
      modelSize: manifest.modelParameters)
    w.hubEndpoint = hubAddress
    if topology.coordinator.secureAggregation != nil { w.secureAggregationWorkers = topology.workerCount }
    w.attesting = topology.security.attestationMode != .off && !endpoint.hasPrefix("inproc://")
    guard topology.security.curve, !endpoint.hasPrefix("inproc://") else { return w }
    let keys: PublicKeys
    do {
      keys = try JSONDecoder.snake.decode(PublicKeys.self, from: Data(try Files.read(run.publicKeysFile)))
    } catch let e as FileFormatError {
      throw e
    } catch {
      throw FileFormatError(path: run.publicKeysFile, message: "not the run's public keys (\(error))")
    }
    w.curve = true
    w.coordinatorPublicKey = keys.coordinator
    for (k, v) in keys.workers { if let id = Int(k) { w.workerPublicKeys[id] = v } }
    w.hubPublicKey = keys.hub
    switch role {
    case .launcher: break
    case .hub where keys.hub == nil: throw RuntimeError("\(run.path): this run has no adversary hub key (no update attack)")
    default: w.ownKeys = try run.loadSecretKey(role)
    }
    return w
  }
}

public struct RuntimeError: Error, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
