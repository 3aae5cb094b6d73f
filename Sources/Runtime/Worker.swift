import Covert
import Data
import Foundation
import Learning
import SecureAggregation
import Tensor
import Transport

/// One worker's loop: join, then for every model frame compute an update on its own shard
/// and send it back; heartbeats while idle; exit on shutdown or when the coordinator is gone.
///
/// Every random choice of round r comes from a stream derived from (seed, worker id, r), so
/// an update depends only on the model it received — never on timing, restarts or threads.
public final class Worker {
  public let id: Int
  let run: RunDirectory
  let topology: Topology
  let wiring: Wiring
  let context: Context
  /// The worker's shard (as bytes) and its training procedure.
  let local: LocalTraining
  /// What the worker trains with in its attack rounds: a data attacker's poisoned shard, or a
  /// covert worker's training with its channel (capacity-abuse inputs or a parameter encoding).
  let malicious: LocalTraining?
  /// A mantissa channel's sender.
  let mantissa: MantissaSender?
  var secretKey: CurveKeyPair?
  /// This round's secure-aggregation instance and the input it will mask (secure runs only).
  var secure: (client: SecureAggregationClient, input: [UInt64]?)?

  public init(id: Int, run: RunDirectory, topology: Topology, wiring: Wiring, context: Context, secretKey: CurveKeyPair? = nil) throws {
    guard id >= 0, id < topology.workerCount else {
      throw RuntimeError("worker id \(id) is outside 0..<\(topology.workerCount) for this run")
    }
    self.id = id; self.run = run; self.topology = topology; self.wiring = wiring; self.context = context
    // The shard is checked against the manifest before a sample of it is trusted.
    let manifest = try run.loadManifest()
    let shard = try ShardFile.decodeCompact(
      try Integrity.shard(run, manifest: manifest, worker: id, poisoned: false), path: run.shardFile(id))
    local = LocalTraining(data: shard, topology: topology, stream: UInt64(id))
    let group = topology.group(of: id).group
    if group.hasPoisonedShard {
      let p = try ShardFile.decodeCompact(
        try Integrity.shard(run, manifest: manifest, worker: id, poisoned: true), path: run.poisonedShardFile(id))
      malicious = LocalTraining(data: p, topology: topology, stream: UInt64(id), localSteps: group.attackLocalSteps)
    } else if let spec = group.covert,
      let encoding = try CovertSetup.encoding(spec, secret: shard.pixels, parameterCount: local.parameterCount, imageSize: shard.shape.size)
    {
      let t = LocalTraining(data: shard, topology: topology, stream: UInt64(id), localSteps: group.attackLocalSteps)
      t.encoding = encoding
      malicious = t
    } else {
      malicious = nil
    }
    if let spec = group.covert, group.covertChannel == .mantissa {
      mantissa = try MantissaSender(
        bits: Int(CovertRegistry.parameter("bits", of: spec.name, in: spec.params)), secret: shard.pixels, log: run.covertSentLog(id))
    } else {
      mantissa = nil
    }
    if wiring.curve {
      guard let keys = secretKey ?? wiring.ownKeys else {
        throw RuntimeError(
          "worker \(id): CURVE is on but no secret key was loaded (expected \(run.secretKeyFile(Role.worker(id).description)))")
      }
      self.secretKey = keys
    }
  }

  /// Runs until the coordinator says shutdown (returns) or stays silent too long (throws).
  public func run(claimID: Int? = nil) throws {
    let link = try connect(sender: UInt32(claimID ?? id))
    let hub = try connectHub(sender: link.sender)
    let decoder = FrameDecoder(runID: wiring.runID, modelSize: local.parameterCount, workerCount: topology.workerCount)
    try link.serve(name: "worker \(id)", topology: topology, wiring: wiring, decoder: decoder, hello: UInt32(local.data.count)) { frame in
      switch frame.header.type {
      case .model:
        try answer(model: frame.payload, round: frame.header.round, link: link, hub: hub, decoder: decoder)
        return true
      case .secAggRoster, .secAggForward, .secAggSurvivors:
        secureStep(frame, link: link)
        return false
      default:
        return false  // welcome, heartbeat: liveness only
      }
    }
  }

  /// The DEALER to the coordinator, and how frames are sent on it as `sender`.
  final class Link {
    let socket: Socket
    let sender: UInt32
    let runID: UInt64
    init(socket: Socket, sender: UInt32, runID: UInt64) { self.socket = socket; self.sender = sender; self.runID = runID }

    func sendBytes(_ type: FrameType, round: UInt32, _ bytes: [UInt8], aux: UInt32 = 0) throws {
      let h = FrameHeader(type: type, dtype: .bytes, runID: runID, round: round, sender: sender, count: UInt32(bytes.count), aux: aux)
      try deliver([.bytes(h.encoded()), .bytes(bytes)])
    }

    func send(_ type: FrameType, round: UInt32 = 0, payload: FloatBuffer? = nil, aux: UInt32 = 0) throws {
      let h = FrameHeader(
        type: type, dtype: payload == nil ? .none : .float32, runID: runID, round: round,
        sender: sender, count: UInt32(payload?.count ?? 0), aux: aux)
      var frames: [OutgoingFrame] = [.bytes(h.encoded())]
      if let payload { frames.append(.floats(payload)) }
      try deliver(frames)
    }

    func deliver(_ frames: [OutgoingFrame]) throws {
      do {
        try socket.send(frames)
      } catch let e as ZMQError where e.isWouldBlock {
        // Not connected (yet): heartbeats are skipped; silence ends the worker.
      }
    }

    /// Attests (when the run does), says hello with `aux` (a worker's shard size, a pool process's
    /// client count), then hands every coordinator frame but a shutdown to `handle` (true: it sent
    /// something, which counts as a heartbeat) until the shutdown; heartbeats while idle; throws
    /// once the coordinator has been silent too long.
    func serve(
      name: String, topology: Topology, wiring: Wiring, decoder: FrameDecoder, hello aux: UInt32, handle: (Frame) throws -> Bool
    ) throws {
      let heartbeat = Duration.milliseconds(topology.coordinator.heartbeatMs)
      let giveUp = Duration.milliseconds(max(15_000, 5 * topology.coordinator.livenessMs))
      if wiring.attesting {
        // Measured start-up: what this process is made of, before it asks to join.
        let (measurement, files, kept) = try Measurement.measure()
        FileHandle.standardError.write(
          Data("\(name): measured start-up: \(files) files, \(files - kept) hashed, \(kept) by digests already taken\n".utf8))
        try sendBytes(.attest, round: 0, Array(try JSONEncoder.snake().encode(measurement)))
      }
      try send(.hello, aux: aux)
      var lastSent = ContinuousClock.now, lastHeard = ContinuousClock.now
      while true {
        let readable = try Socket.poll([socket], timeoutMilliseconds: topology.coordinator.heartbeatMs)[0]
        let now = ContinuousClock.now
        if readable, let message = try socket.receive(dontWait: true) {
          lastHeard = now
          guard case let .success(frame) = decoder.decode(message), frame.header.sender == FrameHeader.coordinatorID else { continue }
          if frame.header.type == .shutdown { return }
          if try handle(frame) { lastSent = ContinuousClock.now }
        } else if now - lastHeard > giveUp {
          throw RuntimeError("\(name): no word from the coordinator at \(wiring.endpoint) for \(giveUp); giving up")
        }
        if ContinuousClock.now - lastSent >= heartbeat {
          try send(.heartbeat)
          lastSent = ContinuousClock.now
        }
      }
    }

    /// Connects a DEALER to the coordinator as `sender` (`name` starts its routing id).
    static func open(name: String, context: Context, wiring: Wiring, topology: Topology, keys: CurveKeyPair?, sender: UInt32) throws -> Link
    {
      let socket = try Socket(context, .dealer)
      // Unique per process, so a restarted worker (or an impostor) never collides with a live connection.
      try socket.setRoutingID(Array("\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))".utf8))
      try socket.setReconnectInterval(milliseconds: 100)
      try socket.setMaxMessageSize(wiring.maxMessageSize)  // nothing larger than a model comes in
      // A send never blocks for long: with no usable connection (e.g. a refused CURVE key) it
      // gives up, and the worker leaves once the coordinator has been silent too long.
      try socket.setSendTimeout(milliseconds: max(100, topology.coordinator.heartbeatMs))
      if wiring.curve, let keys, let server = wiring.coordinatorPublicKey {
        try socket.makeCurveClient(keys, serverKey: server)
      }
      try socket.connect(wiring.workerEndpoint)
      return Link(socket: socket, sender: sender, runID: wiring.runID)
    }

    /// Connects a DEALER to the adversary hub and says hello as `sender`.
    static func openHub(context: Context, wiring: Wiring, keys: CurveKeyPair?, sender: UInt32) throws -> Socket {
      let h = try Socket(context, .dealer)
      try h.setReconnectInterval(milliseconds: 100)
      try h.setMaxMessageSize(wiring.maxMessageSize)
      try h.setSendTimeout(milliseconds: 1000)
      if wiring.curve, let keys, let server = wiring.hubPublicKey { try h.makeCurveClient(keys, serverKey: server) }
      try h.connect(wiring.hubEndpoint)
      try h.send([.bytes(FrameHeader(type: .hello, runID: wiring.runID, round: 0, sender: sender).encoded())])
      return h
    }
  }

  func connect(sender: UInt32) throws -> Link {
    try Link.open(name: "w\(id)", context: context, wiring: wiring, topology: topology, keys: secretKey, sender: sender)
  }

  /// A worker with an update attack also talks to the adversary hub.
  func connectHub(sender: UInt32) throws -> Socket? {
    guard topology.group(of: id).group.hasUpdateAttack else { return nil }
    return try Link.openHub(context: context, wiring: wiring, keys: secretKey, sender: sender)
  }

  /// Computes and sends this worker's update for `round`: honest (or through its covert channel),
  /// or — an active update attacker — handed to the hub, submitting what it crafts (or nothing).
  func answer(model: [Float], round: UInt32, link: Link, hub: Socket?, decoder: FrameDecoder) throws {
    let update = computeUpdate(model: model, round: Int(round))
    if let hub, topology.isActiveAttacker(id, round: Int(round)) {
      let h = FrameHeader(
        type: .update, dtype: .float32, runID: wiring.runID, round: round, sender: link.sender,
        count: UInt32(update.vector.count), aux: UInt32(update.samples))
      try hub.send([.bytes(h.encoded()), .floats(FloatBuffer(update.vector))])
      let wait = max(500, topology.coordinator.roundDeadlineMs / 2)
      if let crafted = try awaitHub(hub, round: round, decoder: decoder, timeoutMs: wait, heartbeat: { try link.send(.heartbeat) }) {
        try submit(crafted, samples: update.samples, round: round, link: link)
      } else if topology.coordinator.secureAggregation != nil {
        // Under secure aggregation a drop is the protocol's worst case: share keys, then withhold
        // the masked input, so the coordinator must rebuild this worker's pairwise masks.
        try startSecure(nil, samples: update.samples, round: round, link: link)
      }
    } else {
      var vector = update.vector
      if let mantissa, topology.isActiveAttacker(id, round: Int(round)) { mantissa.embed(&vector, round: Int(round)) }
      try submit(vector, samples: update.samples, round: round, link: link)
    }
  }

  /// Sends `vector` as this round's update — or, under secure aggregation, starts the round's
  /// protocol instance with it: its fixed-point encoding (weighted by `samples`) waits to be masked.
  func submit(_ vector: [Float], samples: Int, round: UInt32, link: Link) throws {
    guard topology.coordinator.secureAggregation != nil else {
      return try link.send(.update, round: round, payload: FloatBuffer(vector), aux: UInt32(samples))
    }
    try startSecure(
      FixedPoint.encode(vector, weight: Double(samples), participants: topology.workerCount), samples: samples, round: round, link: link)
  }

  /// Starts the round's secure-aggregation instance: advertises fresh keys; `input` (nil: none
  /// will be sent) waits to be masked.
  func startSecure(_ input: [UInt64]?, samples: Int, round: UInt32, link: Link) throws {
    let client = SecureAggregationClient(id: Int(link.sender), round: Int(round))
    secure = (client, input)
    try link.sendBytes(.secAggAdvertise, round: round, client.advertisement, aux: UInt32(samples))
  }

  /// One step of the round's secure aggregation, answering the coordinator's message. A message
  /// the protocol refuses ends this worker's part in the round (it drops out; nothing is revealed).
  func secureStep(_ frame: Frame, link: Link) {
    guard let (client, input) = secure, client.round == Int(frame.header.round) else { return }
    let round = frame.header.round
    do {
      switch frame.header.type {
      case .secAggRoster: try link.sendBytes(.secAggShares, round: round, try client.shareKeys(roster: frame.bytes))
      case .secAggForward:
        guard let input else {
          secure = nil
          return  // a dropping attacker withholds its masked input
        }
        try link.sendBytes(.secAggMasked, round: round, try client.maskedInput(forwarded: frame.bytes, input: input))
      default:
        try link.sendBytes(.secAggReveal, round: round, try client.unmask(survivors: frame.bytes))
        secure = nil
      }
    } catch {
      FileHandle.standardError.write(
        Data("worker \(id): round \(round + 1): secure aggregation: \(error); dropping out of the round\n".utf8))
      secure = nil
    }
  }

  /// The hub's answer for `round`: the vector to submit, or nil to submit nothing (a drop, or no
  /// answer in time).
  /// Keeps heartbeating the coordinator while it waits, so a slow hub does not get it marked dead.
  func awaitHub(_ hub: Socket, round: UInt32, decoder: FrameDecoder, timeoutMs: Int, heartbeat: () throws -> Void) throws -> [Float]? {
    let until = ContinuousClock.now + .milliseconds(timeoutMs)
    var lastBeat = ContinuousClock.now
    while ContinuousClock.now < until {
      if ContinuousClock.now - lastBeat >= .milliseconds(topology.coordinator.heartbeatMs) {
        try heartbeat()
        lastBeat = ContinuousClock.now
      }
      guard try Socket.poll([hub], timeoutMilliseconds: 50)[0], let m = try hub.receive(dontWait: true) else { continue }
      guard case let .success(f) = decoder.decode(m), f.header.round == round else { continue }
      if f.header.type == .drop { return nil }
      if f.header.type == .update { return f.payload }
    }
    FileHandle.standardError.write(Data("worker \(id): no answer from the adversary hub for round \(round + 1); submitting nothing\n".utf8))
    return nil
  }

  /// This worker's update for `round` from `model` (see `LocalTraining`).
  public func computeUpdate(model: [Float], round: Int) -> (vector: [Float], samples: Int) {
    if let malicious, topology.isActiveAttacker(id, round: round) {
      // Longer poisoned training still reports the sample count an honest worker would (so the
      // sample-weighted mean does not betray, or over-weight, the attacker).
      let u = malicious.update(model: model, round: round)
      return (u.vector, min(topology.training.batchSize, local.data.count) * topology.training.localSteps)
    }
    return local.update(model: model, round: round)
  }
}
