import Foundation
import Transport

/// The coordinator's sockets: the ROUTER workers connect to (CURVE, ZAP, message cap, handshake
/// monitor), the leak to the adversary hub, the receive loop, heartbeats and liveness.
extension Coordinator {
  /// Binds the ROUTER with everything that guards it.
  func openRouter() throws -> Socket {
    if wiring.curve {
      var allowed: [String: String] = [:]
      for (id, key) in wiring.workerPublicKeys { allowed[key] = String(id) }
      let refusals = self.refusals
      zap = try ZAPHandler(context: context, allowed: allowed) { r in
        refusals.record(
          peer: r.address + " " + r.publicKey,
          what:
            "refused connection from \(r.address.isEmpty ? "a local peer" : r.address): key \(r.publicKey.isEmpty ? "(none)" : r.publicKey) not in this run"
        )
      }
    } else {
      run.logEvent("WARNING: security.curve = false: traffic is unencrypted and worker ids are not authenticated")
    }
    let socket = try Socket(context, .router)
    try socket.setRouterMandatory()
    // Nothing larger than an update is read from anyone, authenticated or not.
    try socket.setMaxMessageSize(wiring.maxMessageSize)
    if wiring.curve, let keys = wiring.ownKeys {
      try socket.makeCurveServer(keys)
      // Connections that fail before the ZAP handler sees a key (no CURVE, a bad vouch).
      let refusals = self.refusals
      _ = try SocketMonitor(socket, context: context, name: "coordinator") { e in
        refusals.record(peer: e.endpoint, what: "refused connection at \(e.endpoint): \(e.reason)")
      }
    }
    try socket.bind(wiring.endpoint)
    return socket
  }

  /// Omniscient attacks: a leak to the adversary hub (a simulation device, not part of the defence).
  /// Logical clients with update attacks: the same line carries each round's roster (the hub
  /// cannot know otherwise which of the thousands of clients were drawn).
  func openLeak() throws -> Socket? {
    guard topology.leaksHonestUpdates || (topology.clients != nil && topology.hasUpdateAttacks) else { return nil }
    return try openHubLine()
  }

  /// A DEALER to the adversary hub: the leak, or (attacks that need no leak) the line the
  /// coordinator's final bye travels on, so a hub on another host learns the run is over.
  func openHubLine() throws -> Socket {
    let l = try Socket(context, .dealer)
    try l.setMaxMessageSize(wiring.maxMessageSize)
    if wiring.curve, let keys = wiring.ownKeys, let hubKey = wiring.hubPublicKey { try l.makeCurveClient(keys, serverKey: hubKey) }
    try l.connect(wiring.hubEndpoint)
    return l
  }

  func reject(_ r: RejectReason) {
    rejections.record(r)
    roundRejections.record(r)
  }

  func sendTo(_ socket: Socket, _ w: Int, _ frames: [OutgoingFrame]) {
    guard let rid = workers[w].routingID else { return }
    do {
      try socket.send([.bytes(rid)] + frames, dontWait: true)
    } catch {
      // Unroutable (gone) or its queue is full: liveness will catch a dead worker.
    }
  }

  /// Receives and dispatches messages until some arrived or `deadline` passed: joins and heartbeats are handled here;
  /// updates and secure-aggregation messages go to `onUpdate`; everything invalid is counted with its reason. Also sends
  /// heartbeats and marks silent workers dead.
  func pump(
    _ socket: Socket, until deadline: ContinuousClock.Instant, round: Int,
    onUpdate: (FrameHeader, Frame) -> Void
  ) throws {
    while true {
      let now = ContinuousClock.now
      if let why = abortReason?() { throw RuntimeError(why) }
      if checkLiveness(now: now) { return }  // someone died: the caller re-checks who it waits for
      let remaining = deadline - now
      if remaining <= .zero { return }
      let wait = Int(min(remaining, .milliseconds(topology.coordinator.heartbeatMs)).seconds * 1000) + 1
      var handled = false
      if try Socket.poll([socket], timeoutMilliseconds: wait)[0] {
        while let message = try socket.receive(dontWait: true) {
          handle(message, socket: socket, round: round, onUpdate: onUpdate)
          handled = true
        }
      }
      sendHeartbeats(socket)
      if handled { return }  // let the caller re-check its condition
    }
  }

  func sendHeartbeats(_ socket: Socket) {
    guard ContinuousClock.now - lastHeartbeat >= .milliseconds(topology.coordinator.heartbeatMs) else { return }
    lastHeartbeat = ContinuousClock.now
    let h = FrameHeader(type: .heartbeat, runID: wiring.runID, round: 0, sender: FrameHeader.coordinatorID).encoded()
    for w in workers.indices where workers[w].alive { sendTo(socket, w, [.bytes(h)]) }
  }

  /// Marks workers silent for longer than liveness_ms dead; true if any died.
  func checkLiveness(now: ContinuousClock.Instant) -> Bool {
    var died = false
    for w in workers.indices where workers[w].alive && now - workers[w].lastSeen > .milliseconds(topology.coordinator.livenessMs) {
      workers[w].alive = false
      died = true
      run.logEvent("worker \(w) marked dead: silent for more than \(topology.coordinator.livenessMs) ms")
    }
    return died
  }

  func handle(_ message: [Message], socket: Socket, round: Int, onUpdate: (FrameHeader, Frame) -> Void) {
    guard message.count >= 2 else { return reject(.frameCount) }
    let routingID = message[0].bytes
    let frame: Frame
    switch decoder.decode(Array(message.dropFirst())) {
    case let .success(f): frame = f
    case let .failure(r): return reject(r)
    }
    let h = frame.header
    guard h.sender != FrameHeader.coordinatorID else { return reject(.unknownSender) }
    let w = Int(h.sender)
    // Identity: with CURVE the ZAP handler bound the connection's key to a worker id.
    if wiring.curve {
      guard message[1].property("User-Id") == String(w) else {
        let user = message[1].property("User-Id") ?? "?"
        refusals.record(peer: "key of worker \(user)", what: "impersonation: a connection authenticated as worker \(user) claimed id \(w)")
        return reject(.impersonation)
      }
    } else if h.type != .hello, let known = workers[w].routingID, known != routingID {
      return reject(.impersonation)
    }
    // A hello and a heartbeat carry no round: anything else in that field is not ours.
    if h.type == .hello || h.type == .heartbeat, h.round != 0 { return reject(.reservedField) }
    switch h.type {
    case .attest:
      admitAttestation(w, frame.bytes, routingID: routingID, socket: socket)
    case .hello:
      hello(w, samples: Int(h.aux), routingID: routingID, socket: socket, round: round)
    case .heartbeat:
      guard workers[w].routingID != nil else { return reject(.unknownSender) }
      workers[w].lastSeen = ContinuousClock.now
      if !workers[w].alive {
        workers[w].alive = true
        run.logEvent("worker \(w) alive again at round \(round + 1)")
      }
    case .update, .clientUpdate, .secAggAdvertise, .secAggShares, .secAggMasked, .secAggReveal:
      guard workers[w].routingID != nil else { return reject(.unknownSender) }
      workers[w].lastSeen = ContinuousClock.now
      onUpdate(h, frame)
    default:
      reject(.unexpectedType)
    }
  }

  /// A worker's start-up measurement: refused ones are told to leave (not part of this run).
  func admitAttestation(_ w: Int, _ bytes: [UInt8], routingID: [UInt8], socket: Socket) {
    guard wiring.attesting else { return reject(.unexpectedType) }
    guard !attest(w, bytes) else { return }
    reject(.attestationMismatch)
    let bye = FrameHeader(type: .shutdown, runID: wiring.runID, round: 0, sender: FrameHeader.coordinatorID).encoded()
    do { try socket.send([.bytes(routingID), .bytes(bye)], dontWait: true) } catch {}  // it may be gone already
  }

  /// A worker joins (or rejoins): attested if the run attests, with the shard size `prepare` assigned.
  func hello(_ w: Int, samples: Int, routingID: [UInt8], socket: Socket, round: Int) {
    if wiring.attesting, topology.security.attestationMode == .enforce, !workers[w].attested {
      if !workers[w].refused {
        refusals.record(peer: "worker \(w)", what: "worker \(w) said hello without a start-up measurement: refused (attestation_mismatch)")
      }
      return reject(.attestationMismatch)
    }
    workers[w].attested = false  // each hello uses up one attestation: a new process sends its own
    // A worker states its shard's samples; a pool process the run's clients.
    let assigned = topology.clients?.count ?? shardSamples[w]
    guard samples == assigned else {
      refusals.record(
        peer: "worker \(w)",
        what:
          "worker \(w) said hello with \(samples) \(topology.clients == nil ? "samples" : "clients"), assigned \(assigned): refused (sample_count_mismatch)"
      )
      return reject(.sampleCountMismatch)
    }
    let rejoin = workers[w].routingID != nil
    workers[w].routingID = routingID
    if !workers[w].alive { run.logEvent("worker \(w) \(rejoin ? "rejoined" : "joined") at round \(round + 1)") }
    workers[w].alive = true
    workers[w].lastSeen = ContinuousClock.now
    let welcome = FrameHeader(type: .welcome, runID: wiring.runID, round: UInt32(round), sender: FrameHeader.coordinatorID)
    sendTo(socket, w, [.bytes(welcome.encoded())])
    if let b = currentBroadcast, b.participants.contains(w) {
      sendTo(socket, w, b.frames)
      if let a = assignmentFrames[w] { sendTo(socket, w, a) }
    }
  }
}
