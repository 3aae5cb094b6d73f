import Foundation
import Transport

/// The ZeroMQ front door, for clients that already speak the project's wire: a ROUTER with
/// CURVE, each client admitted by ZAP only with a credential's `curve_public_key`, which binds
/// it to that credential (the "User-Id" of its messages) — so a client cannot claim another's
/// role. With `zmq_security = "plain"` (loopback only) the ROUTER speaks PLAIN instead: a client
/// is admitted with a credential's id as user name and its bearer token as password, checked
/// against the token's SHA-256 as the HTTP door checks it, and nothing is encrypted — the HTTP
/// door's security, without CURVE's two boxes per request. Same requests and answers as HTTP, as
/// frames:
///   request: `METHOD PATH`, content type, body
///   reply:   status (ASCII, e.g. `200`), content type, body, Retry-After seconds (ASCII, or empty)
///
/// Or, in the one-frame form (`OneFrame`), the request as one frame `METHOD PATH` LF content type
/// LF body, answered as one frame status LF content type LF Retry-After LF body: with CURVE each
/// frame is a box of its own, so this form costs the transport two boxes a request instead of seven.
///
/// One thread owns the ROUTER: it reads each request's User-Id (connection metadata, which does
/// not survive a hop) and takes the requests waiting on the socket (up to `drain`) as one batch.
/// Predictions of a cheap model (at most `inlineFLOPs` per input, as an MLP) it answers itself:
/// for them the hop to another thread and back costs more than the prediction. Every other
/// request goes, with its id, to a pool of workers over inproc PUSH/PULL, one message per worker
/// per batch, and their replies come back the same way; the workers run `ServingCore` in
/// parallel. Each batch's request-log lines are written at once. Under load a batch holds many
/// requests, so the hops and the log's writes cost little per request; an idle door takes each
/// request as it comes.
public final class ZMQDoor: @unchecked Sendable {
  let context: Context
  let zap: ZAPHandler
  let core: ServingCore
  public let endpoint: String
  /// The server's Z85 CURVE public key; nil with PLAIN.
  public let serverPublicKey: String?
  let work: String
  let replies: String
  /// Entered by each of the door's threads while it runs; `stop` waits for all to leave.
  let running = DispatchGroup()
  /// Most requests taken from the ROUTER at once (a batch's latency grows with it).
  static let drain = 8
  /// Predictions costing at most this many floating-point operations per input are answered on
  /// the ROUTER's thread (measured with `byzsim-bench serve`: an MLP 784-100-10, 0.16 MFLOP,
  /// answers 20–30% more requests/s there than through the workers; the CNN, 4.1 MFLOP, 20% fewer).
  static let inlineFLOPs = 1_000_000

  /// A CURVE door with the server's secret key in `secretKeyFile`, or (nil) a PLAIN one.
  public init(core: ServingCore, endpoint: String, secretKeyFile: String?, workers: Int = 2) throws {
    var keys: CurveKeyPair?
    if let secretKeyFile {
      let text = try String(contentsOfFile: secretKeyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
      guard let pair = CurveKeyPair(secretKey: text) else {
        throw ServingError("\(secretKeyFile): not a Z85 CURVE secret key (make one with byzsim serve --curve-keygen FILE)")
      }
      keys = pair
    } else if !DeployConfig.isLoopbackEndpoint(endpoint) {
      throw ServingError("\(endpoint): a PLAIN door sends tokens in the clear; it binds only to tcp://127.0.0.1:PORT or ipc://")
    }
    self.core = core
    context = try Context()
    if keys != nil {
      let allowed = Dictionary(uniqueKeysWithValues: core.config.credentials.compactMap { c in c.curvePublicKey.map { ($0, c.id) } })
      zap = try ZAPHandler(context: context, allowed: allowed)
    } else {
      // PLAIN: the user name is a credential's id, the password that credential's token.
      zap = try ZAPHandler(
        context: context, allowed: [:],
        plain: { [core] user, password in core.credential(token: String(decoding: password, as: UTF8.self))?.id == user ? user : nil })
    }
    let router = try Socket(context, .router)
    if let keys { try router.makeCurveServer(keys) } else { try router.makePlainServer() }
    try router.set(ZMQ_ZAP_DOMAIN_OPTION, string: "byzsim-serve")
    try router.setMaxMessageSize(core.config.maxBodyBytes + 4096)
    try router.bind(endpoint)
    self.endpoint = router.lastEndpoint
    serverPublicKey = keys?.publicKey
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
    let front = Owned(Front(core: core, router: router, toWorkers: toWorkers, fromWorkers: fromWorkers, workers: max(1, workers)))
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
    let core: ServingCore
    let router: Socket, toWorkers: Socket, fromWorkers: Socket
    let workers: Int
    init(core: ServingCore, router: Socket, toWorkers: Socket, fromWorkers: Socket, workers: Int) {
      self.core = core
      self.router = router
      self.toWorkers = toWorkers
      self.fromWorkers = fromWorkers
      self.workers = workers
    }

    func loop() {
      while true {
        do {
          let ready = try Socket.poll([router, fromWorkers], timeoutMilliseconds: -1)
          if ready[1] { try sendReplies() }
          if ready[0] { try takeRequests() }
        } catch {
          return  // the context is shutting down
        }
      }
    }

    /// Every batch of replies the workers sent back.
    func sendReplies() throws {
      while let batch = try fromWorkers.receive(dontWait: true) { send(batch.map(\.bytes)) }
    }

    /// Each reply of a batch ([form and routing id, status, content type, body, Retry-After]
    /// after another) to its client, in the form its request came in.
    func send(_ replies: [[UInt8]]) {
      for start in stride(from: 0, to: replies.count, by: Worker.replyFrames) {
        let tagged = replies[start]
        let id = Array(tagged.dropFirst())
        do {
          if tagged.first == Form.oneFrame.rawValue {
            try router.send([
              id,
              OneFrame.reply(
                status: replies[start + 1], contentType: replies[start + 2], body: replies[start + 3], retryAfter: replies[start + 4]),
            ])
          } else {
            try router.send([id] + replies[(start + 1)..<(start + Worker.replyFrames)])
          }
        } catch {}  // the client went away: nothing to answer
      }
    }

    /// How a request came in, and so how it is answered: the first byte of the routing id the
    /// door hands its workers.
    enum Form: UInt8 {
      case frames = 0, oneFrame = 1
    }

    /// The requests waiting on the ROUTER (at most `drain`): the cheap predictions answered here,
    /// the others shared out in one message per worker; a request of the wrong shape is answered
    /// here.
    func takeRequests() throws {
      let cheap = core.host.model.forwardFLOPs <= ZMQDoor.inlineFLOPs
      var here: [[UInt8]] = [], pooled: [[UInt8]] = []
      var count = 0
      while count < ZMQDoor.drain, let frames = try router.receive(dontWait: true) {
        count += 1
        guard frames.count >= 2 else { continue }  // a ROUTER's message has its routing id and at least one frame
        let form: Form = frames.count == 2 ? .oneFrame : .frames
        let parts: OneFrame.Request?
        if form == .oneFrame {
          parts = frames[1].withUnsafeBytes { OneFrame.request($0) }
        } else if frames.count == Worker.requestFrames - 1 {
          parts = OneFrame.Request(line: frames[1].bytes, contentType: frames[2].bytes, body: frames[3].bytes)
        } else {
          parts = nil
        }
        var id = [form.rawValue]
        frames[0].withUnsafeBytes { id += $0 }
        guard let parts else {
          let why =
            form == .oneFrame
            ? "expected one frame of METHOD PATH, a line feed, the content type, a line feed and the body"
            : "expected 3 frames: METHOD PATH, content type, body"
          send([id, Array("400".utf8), Array("text/plain".utf8), Array(why.utf8), []])
          continue
        }
        let request = [id, Array((frames[1].property("User-Id") ?? "").utf8), parts.line, parts.contentType, parts.body]
        if cheap && parts.line == Self.predictLine { here += request } else { pooled += request }
      }
      if !pooled.isEmpty {
        let share = (pooled.count / Worker.requestFrames + workers - 1) / workers * Worker.requestFrames
        for start in stride(from: 0, to: pooled.count, by: share) {
          try toWorkers.send(Array(pooled[start..<min(pooled.count, start + share)]))
        }
      }
      if !here.isEmpty { send(Worker.answer(here, core: core)) }
    }

    static let predictLine = Array("POST /v1/predict".utf8)
  }

  /// A worker: batches of [routing id, user id, METHOD PATH, content type, body] in, batches of
  /// [routing id, status, content type, body, Retry-After] out (the routing id as the door tagged
  /// it, its first byte the request's form).
  final class Worker: @unchecked Sendable {
    static let requestFrames = 5
    static let replyFrames = 5
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
        do { try push.send(Self.answer(frames, core: core)) } catch { return }
      }
    }

    /// Replies to a batch of requests, in order.
    static func answer(_ frames: [[UInt8]], core: ServingCore) -> [[UInt8]] {
      let requests = stride(from: 0, to: frames.count, by: Self.requestFrames).map { start in
        let line = String(decoding: frames[start + 2], as: UTF8.self).split(separator: " ", maxSplits: 1)
        var request = ServingRequest(
          method: line.first.map(String.init) ?? "", path: line.count > 1 ? String(line[1]) : "", token: nil, body: frames[start + 4],
          binary: frames[start + 3].starts(with: Array("application/octet-stream".utf8)))
        // Set by the front thread from ZAP's User-Id; empty only if ZAP admitted no credential.
        request.credentialID = frames[start + 1].isEmpty ? "" : String(decoding: frames[start + 1], as: UTF8.self)
        return request
      }
      var replies: [[UInt8]] = []
      replies.reserveCapacity(requests.count * Self.replyFrames)
      for (i, a) in core.handle(requests).enumerated() {
        replies += [
          frames[i * Self.requestFrames], Array(String(a.status).utf8), Array(a.contentType.utf8), a.body,
          Array((a.retryAfter.map(String.init) ?? "").utf8),
        ]
      }
      return replies
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
