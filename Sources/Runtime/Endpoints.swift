import Foundation
import Transport

/// Where the coordinator listens, and the security material each role needs.
public struct Wiring: Sendable {
  /// Where the coordinator binds.
  public var endpoint: String
  /// Where workers connect: the coordinator's endpoint, or a wiretap in front of it.
  public var workerEndpoint: String
  public var curve: Bool
  /// Present when CURVE is on.
  public var coordinatorKeys: CurveKeyPair?
  public var workerPublicKeys: [Int: String]
  /// The adversary hub (runs with update attacks).
  public var hubEndpoint: String = ""
  public var hubPublicKey: String?
  public var hubKeys: CurveKeyPair?

  /// The wiring recorded in a run directory (`threads` forces an inproc endpoint).
  public static func load(run: RunDirectory, topology: Topology, threads: Bool) throws -> Wiring {
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
    if !threads, topology.hasEavesdropper, let tap = try? Files.read(run.tapEndpointFile) {
      workerEndpoint = String(decoding: tap, as: UTF8.self)
    }
    guard topology.security.curve, !endpoint.hasPrefix("inproc://") else {
      var w = Wiring(endpoint: endpoint, workerEndpoint: workerEndpoint, curve: false, coordinatorKeys: nil, workerPublicKeys: [:])
      w.hubEndpoint = hubAddress
      return w
    }
    let keys = try JSONDecoder.snake.decode(PublicKeys.self, from: Data(try Files.read(run.publicKeysFile)))
    let secret = String(decoding: try Files.read(run.secretKeyFile("coordinator")), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    var workers: [Int: String] = [:]
    for (k, v) in keys.workers { if let id = Int(k) { workers[id] = v } }
    var w = Wiring(endpoint: endpoint, workerEndpoint: workerEndpoint, curve: true, coordinatorKeys: CurveKeyPair(secretKey: secret), workerPublicKeys: workers)
    w.hubEndpoint = hubAddress
    w.hubPublicKey = keys.hub
    if keys.hub != nil, let hubSecret = try? Files.read(run.secretKeyFile("hub")) {
      w.hubKeys = CurveKeyPair(secretKey: String(decoding: hubSecret, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return w
  }

  /// The coordinator's public key (for workers).
  public var coordinatorPublicKey: String? { coordinatorKeys?.publicKey }
}

public struct RuntimeError: Error, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
