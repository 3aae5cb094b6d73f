import Foundation
import Transport

/// The ZeroMQ front door, for clients that already speak the project's wire: a ROUTER with
/// CURVE, each client admitted by ZAP only with a credential's `curve_public_key`, which binds
/// it to that credential (the "User-Id" of its messages) — so a client cannot claim another's
/// role. Same requests and answers as HTTP, as frames:
///   request: `METHOD PATH`, content type, body
///   reply:   status (ASCII, e.g. `200`), content type, body, Retry-After seconds (ASCII, or empty)
///
/// One thread owns the ROUTER: it reads each request's User-Id (connection metadata, which does
/// not survive a hop), hands the request with that id to a pool of workers over inproc PUSH/PULL,
/// and sends their replies back; the workers run `ServingCore` in parallel.
public final class ZMQDoor: @unchecked Sendable {
  let context: Context
  let zap: ZAPHandler
  let core: ServingCore
  public let endpoint: String
  public let serverPublicKey: String
  let work: String
  let replies: String
  /// Entered by each of the door's threads while it runs; `stop` waits for all to leave.
  let running = DispatchGroup()

  public init(core: ServingCore, endpoint: String, secretKeyFile: String, workers: Int = 2) throws {
    let text = try String(contentsOfFile: secretKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    guard let keys = CurveKeyPair(secretKey: text) else {
      throw ServingError("\(secretKeyFile): not a Z85 CURVE secret key (make one with byzsim serve --curve-keygen FILE)")
    }
    self.core = core
    context = try Context()
    let allowed = Dictionary(uniqueKeysWithValues: core.config.credentials.compactMap { c in c.curvePublicKey.map { ($0, c.id) } })
    zap = try ZAPHandler(context: context, allowed: allowed)
    let router = try Socket(context, .router)
    try router.makeCurveServer(keys)
    try router.set(ZMQ_ZAP_DOMAIN_OPTION, string: "byzsim-serve")
    try router.setMaxMessageSize(core.config.maxBodyBytes + 4096)
    try router.bind(endpoint)
    self.endpoint = router.lastEndpoint
    serverPublicKey = keys.publicKey
    let tag = UUID().uuidString
    work = "inproc://serve-work-\(tag)"
    replies = "inproc://serve-replies-\(tag)"
    // Bind the inproc sockets here, so workers started next can connect.
    let toWorkers = try Socket(context, .push)
    try toWorkers.bind(work)
    let fromWorkers = try Socket(context, .pull)
    try fromWorkers.bind(replies)
    for i in 0..<max(1, workers) {
      let pull = try Socket(context, .pull)
      try pull.connect(work)
      let push = try Socket(context, .push)
      try push.connect(replies)
      let worker = Owned(Worker(core: core, pull: pull, push: push))
      running.enter()
      let thread = Thread { [running] in
        worker.run { $0.loop() }
        running.leave()
      }
      thread.name = "zmq-worker-\(i)"
      thread.start()
    }
    let front = Owned(Front(router: router, toWorkers: toWorkers, fromWorkers: fromWorkers))
    running.enter()
    let thread = Thread { [running] in
      front.run { $0.loop() }
      running.leave()
    }
    thread.name = "zmq-door"
    thread.start()
  }

  /// The ROUTER's thread: requests out to the workers (with the authenticated id), replies back.
  final class Front: @unchecked Sendable {
    let router: Socket, toWorkers: Socket, fromWorkers: Socket
    init(router: Socket, toWorkers: Socket, fromWorkers: Socket) {
      self.router = router
      self.toWorkers = toWorkers
      self.fromWorkers = fromWorkers
    }

    func loop() {
      while true {
        do {
          let ready = try Socket.poll([router, fromWorkers], timeoutMilliseconds: -1)
          if ready[1], let reply = try fromWorkers.receive(dontWait: true) {
            do { try router.send(reply.map(\.bytes)) } catch {}  // the client went away: nothing to answer
          }
          if ready[0], let frames = try router.receive(dontWait: true) {
            let user = frames.count > 1 ? frames[1].property("User-Id") ?? "" : ""
            try toWorkers.send([frames[0].bytes, Array(user.utf8)] + frames.dropFirst().map(\.bytes))
          }
        } catch {
          return  // the context is shutting down
        }
      }
    }
  }

  /// A worker: [routing id, user id, frames…] in, [routing id, reply…] out.
  final class Worker: @unchecked Sendable {
    let core: ServingCore, pull: Socket, push: Socket
    init(core: ServingCore, pull: Socket, push: Socket) {
      self.core = core
      self.pull = pull
      self.push = push
    }

    func loop() {
      while true {
        let frames: [[UInt8]]
        do {
          guard let f = try pull.receive() else { continue }
          frames = f.map(\.bytes)
        } catch {
          return
        }
        do { try push.send(answer(frames)) } catch { return }
      }
    }

    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
      guard frames.count == 5 else {
        return [
          frames[0], Array("400".utf8), Array("text/plain".utf8), Array("expected 3 frames: METHOD PATH, content type, body".utf8), [],
        ]
      }
      let line = String(decoding: frames[2], as: UTF8.self).split(separator: " ", maxSplits: 1)
      var request = ServingRequest(
        method: line.first.map(String.init) ?? "", path: line.count > 1 ? String(line[1]) : "", token: nil, body: frames[4],
        binary: frames[3].starts(with: Array("application/octet-stream".utf8)))
      // Set by the front thread from ZAP's User-Id; empty only if ZAP admitted no credential.
      request.credentialID = frames[1].isEmpty ? "" : String(decoding: frames[1], as: UTF8.self)
      let a = core.handle(request)
      return [
        frames[0], Array(String(a.status).utf8), Array(a.contentType.utf8), a.body, Array((a.retryAfter.map(String.init) ?? "").utf8),
      ]
    }
  }

  /// Stops the door: blocked calls return, each thread finishes the request it is answering and
  /// drops its sockets, and the context can terminate (which waits for every socket to be
  /// closed). Returns once every thread has ended (or after `timeout` seconds: false).
  @discardableResult public func stop(timeout: Double = 30) -> Bool {
    context.shutdown()
    return running.wait(timeout: .now() + timeout) == .success
  }

  /// Holds a thread's object (and so its sockets) until the thread's loop ends, then lets go.
  final class Owned<T>: @unchecked Sendable {
    private var value: T?
    init(_ value: T) { self.value = value }
    func run(_ body: (T) -> Void) {
      if let value { body(value) }
      value = nil
    }
  }
}

/// ZMQ_ZAP_DOMAIN (55): a non-empty domain makes libzmq consult ZAP.
let ZMQ_ZAP_DOMAIN_OPTION: Int32 = 55
