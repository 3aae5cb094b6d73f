import Foundation
import Transport

/// The ZeroMQ front door, for clients that already speak the project's wire: a ROUTER with
/// CURVE, each client admitted by ZAP only with a credential's `curve_public_key`, which binds
/// it to that credential (the "User-Id" of its messages) — so a client cannot claim another's
/// role. Same requests and answers as HTTP, as frames:
///   request: `METHOD PATH`, content type, body
///   reply:   status (ASCII, e.g. `200`), content type, body, Retry-After seconds (ASCII, or empty)
public final class ZMQDoor: @unchecked Sendable {
  let context: Context
  let socket: Socket
  let zap: ZAPHandler
  let core: ServingCore
  public let endpoint: String
  public let serverPublicKey: String
  private let thread: Thread

  public init(core: ServingCore, endpoint: String, secretKeyFile: String) throws {
    let text = try String(contentsOfFile: secretKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let keys = CurveKeyPair(secretKey: text) else {
      throw ServingError("\(secretKeyFile): not a Z85 CURVE secret key (make one with byzsim serve --curve-keygen FILE)")
    }
    self.core = core
    context = try Context()
    let allowed = Dictionary(uniqueKeysWithValues: core.config.credentials.compactMap { c in c.curvePublicKey.map { ($0, c.id) } })
    zap = try ZAPHandler(context: context, allowed: allowed)
    socket = try Socket(context, .router)
    try socket.makeCurveServer(keys)
    try socket.set(ZMQ_ZAP_DOMAIN_OPTION, string: "byzsim-serve")
    try socket.setMaxMessageSize(core.config.maxBodyBytes + 4096)
    try socket.bind(endpoint)
    self.endpoint = socket.lastEndpoint
    serverPublicKey = keys.publicKey
    let box = Box()
    thread = Thread { box.door?.loop() }
    thread.name = "zmq-door"
    box.door = self
    thread.start()
  }

  final class Box: @unchecked Sendable { var door: ZMQDoor? }

  func loop() {
    while true {
      let frames: [Message]
      do {
        guard let f = try socket.receive() else { continue }
        frames = f
      } catch {
        return  // the context is shutting down
      }
      guard frames.count == 4 else {
        if let id = frames.first {
          try? socket.send([
            id.bytes, Array("400".utf8), Array("text/plain".utf8), Array("expected 3 frames: METHOD PATH, content type, body".utf8), [],
          ])
        }
        continue
      }
      let line = String(decoding: frames[1].bytes, as: UTF8.self).split(separator: " ", maxSplits: 1)
      var request = ServingRequest(
        method: line.first.map(String.init) ?? "", path: line.count > 1 ? String(line[1]) : "", token: nil, body: frames[3].bytes,
        binary: frames[2].bytes.starts(with: Array("application/octet-stream".utf8)))
      request.credentialID = frames[1].property("User-Id")
      let answer = core.handle(request)
      let reply = [
        frames[0].bytes, Array(String(answer.status).utf8), Array(answer.contentType.utf8), answer.body,
        Array((answer.retryAfter.map(String.init) ?? "").utf8),
      ]
      do { try socket.send(reply) } catch { continue }  // the client went away: nothing to answer
    }
  }

  public func stop() { context.shutdown() }
}

/// ZMQ_ZAP_DOMAIN (55): a non-empty domain makes libzmq consult ZAP.
let ZMQ_ZAP_DOMAIN_OPTION: Int32 = 55
