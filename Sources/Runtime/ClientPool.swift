import Data
import Foundation
import Learning
import Tensor
import Transport

/// One process of the pool that simulates a run's logical clients (`clients = N`): it joins
/// like a worker, and for each round runs the clients the coordinator assigned it, one after
/// another, each on its own shard, with its own group's behaviour, sending one update per client.
///
/// A client's update depends only on (the model, the client, the round) — its batches come from
/// a stream of (seed, client id, round), as a worker's do — so the results are the same whatever
/// the pool's size, which process runs which client, processes or threads.
///
/// An attacking client's honest update goes to the adversary hub; the pool sends every honest
/// client's update first and only then waits for the hub's answers, so a hub that waits for
/// every attacker of a group (and, omniscient, for the leaked honest updates) is never kept
/// waiting by the pool itself.
public final class ClientPool {
  public let id: Int
  let directory: RunDirectory
  let topology: Topology
  let wiring: Wiring
  let context: Context
  /// The training set the clients' shards index (after FLTrust's root dataset is taken out).
  let data: CompactDataset
  /// Each client's sample indices into `data`.
  let shards: [[Int]]
  /// The network every client trains in (its parameters are the round's model each time).
  let network: Network
  let secretKey: CurveKeyPair?

  public init(id: Int, run: RunDirectory, topology: Topology, wiring: Wiring, context: Context, secretKey: CurveKeyPair? = nil) throws {
    guard let clients = topology.clients else { throw RuntimeError("worker \(id): this run has no logical clients (clients = N)") }
    guard id >= 0, id < clients.pool else { throw RuntimeError("worker id \(id) is outside the pool 0..<\(clients.pool) of this run") }
    self.id = id; self.directory = run; self.topology = topology; self.wiring = wiring; self.context = context
    // The data files are checked against the manifest before a sample of them is trusted, and
    // the shards drawn from them must have the sizes `prepare` recorded.
    let manifest = try run.loadManifest()
    let loaded = try topology.data.load()
    try Integrity.check(dataFiles: loaded.train.files + loaded.test.files, manifest: manifest, manifestPath: run.manifestFile)
    let train = Launcher.rootSplit(loaded.train.dataset, topology: topology).rest
    shards = try ClientShards.assign(topology, labels: train.labels, classes: train.classes)
    guard shards.map(\.count) == manifest.shardSamples else {
      throw FileFormatError(
        path: run.manifestFile,
        message:
          "the clients' shards drawn from the data files do not have the sizes this manifest records; the data changed after `prepare`")
    }
    data = CompactDataset(train)
    network = topology.model.makeNetwork(input: data.shape, classes: data.classes, seed: topology.seed)
    if wiring.curve {
      guard let keys = secretKey ?? wiring.ownKeys else {
        throw RuntimeError(
          "worker \(id): CURVE is on but no secret key was loaded (expected \(run.secretKeyFile(Role.worker(id).description)))")
      }
      self.secretKey = keys
    } else {
      self.secretKey = secretKey
    }
  }

  /// Runs until the coordinator says shutdown (returns) or stays silent too long (throws).
  public func run() throws {
    let clients = topology.clients!
    HeapReuse.releaseFreed()  // the training set as loaded (Float32) is gone: only the bytes remain
    let link = try Worker.Link.open(
      name: "pool\(id)", context: context, wiring: wiring, topology: topology, keys: secretKey, sender: UInt32(id))
    let hub =
      topology.hasUpdateAttacks ? try Worker.Link.openHub(context: context, wiring: wiring, keys: secretKey, sender: UInt32(id)) : nil
    let decoder = FrameDecoder(
      runID: wiring.runID, modelSize: network.parameterCount, workerCount: topology.processCount, clientCount: clients.count)
    var model: (round: UInt32, vector: [Float])?
    // A pool process states the clients it can simulate where a worker states its samples.
    try link.serve(name: "worker \(id)", topology: topology, wiring: wiring, decoder: decoder, hello: UInt32(clients.count)) { frame in
      switch frame.header.type {
      case .model:
        model = (frame.header.round, frame.payload)
        return false
      case .assign:
        guard let m = model, m.round == frame.header.round else { return false }  // an assignment without its model
        let assigned = Self.clientIDs(frame.bytes, below: clients.count)
        try answer(assigned, model: m.vector, round: m.round, link: link, hub: hub, decoder: decoder)
        return true
      default:
        return false  // welcome, heartbeat: liveness only
      }
    }
  }

  /// The client ids of an assignment (little-endian UInt32s); ids outside the run are dropped.
  static func clientIDs(_ bytes: [UInt8], below count: Int) -> [Int] {
    stride(from: 0, to: bytes.count - 3, by: 4).compactMap { o in
      let v = Int(UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
      return v < count ? v : nil
    }
  }

  /// Runs the assigned clients: honest ones' updates go to the coordinator as they are computed;
  /// active update attackers' go to the hub, whose answers are then submitted (a drop, or no
  /// answer in time, submits nothing).
  func answer(_ assigned: [Int], model: [Float], round: UInt32, link: Worker.Link, hub: Socket?, decoder: FrameDecoder) throws {
    var waiting: Set<Int> = []
    var lastBeat = ContinuousClock.now
    for client in assigned {
      let vector = try update(client, model: model, round: Int(round))
      if let hub, topology.group(of: client).group.hasUpdateAttack, topology.isActiveAttacker(client, round: Int(round)) {
        let h = FrameHeader(
          type: .clientUpdate, dtype: .float32, runID: wiring.runID, round: round, sender: UInt32(id),
          count: UInt32(vector.count), aux: UInt32(client))
        try hub.send([.bytes(h.encoded()), .floats(FloatBuffer(vector))])
        waiting.insert(client)
      } else {
        try submit(vector, client: client, round: round, link: link)
      }
      if ContinuousClock.now - lastBeat >= .milliseconds(topology.coordinator.heartbeatMs) {
        try link.send(.heartbeat)  // a long round of many clients: stay alive
        lastBeat = ContinuousClock.now
      }
    }
    guard let hub, !waiting.isEmpty else { return }
    let until = ContinuousClock.now + .milliseconds(max(500, topology.coordinator.roundDeadlineMs / 2))
    while !waiting.isEmpty, ContinuousClock.now < until {
      if ContinuousClock.now - lastBeat >= .milliseconds(topology.coordinator.heartbeatMs) {
        try link.send(.heartbeat)
        lastBeat = ContinuousClock.now
      }
      guard try Socket.poll([hub], timeoutMilliseconds: 50)[0], let m = try hub.receive(dontWait: true) else { continue }
      guard case let .success(f) = decoder.decode(m), f.header.round == round else { continue }
      let client = Int(f.header.aux)
      guard waiting.contains(client) else { continue }
      switch f.header.type {
      case .drop: waiting.remove(client)
      case .clientUpdate:
        waiting.remove(client)
        try submit(f.payload, client: client, round: round, link: link)
      default: break
      }
    }
    if !waiting.isEmpty {
      FileHandle.standardError.write(
        Data(
          "worker \(id): no answer from the adversary hub for round \(round + 1) (clients \(waiting.sorted())); they submit nothing\n".utf8)
      )
    }
  }

  func submit(_ vector: [Float], client: Int, round: UInt32, link: Worker.Link) throws {
    let h = FrameHeader(
      type: .clientUpdate, dtype: .float32, runID: wiring.runID, round: round, sender: UInt32(id), count: UInt32(vector.count),
      aux: UInt32(client))
    try link.deliver([.bytes(h.encoded()), .floats(FloatBuffer(vector))])
  }

  /// Client `client`'s update for `round`: on its shard, or in its group's attack rounds on the
  /// shard its data attack poisons (drawn from (seed, client), as `prepare` poisons a worker's).
  func update(_ client: Int, model: [Float], round: Int) throws -> [Float] {
    let (group, _, _) = topology.group(of: client)
    var shard = data.subset(shards[client])
    var localSteps: Int?
    if group.dataAttack != nil, topology.isActiveAttacker(client, round: round),
      let poisoned = try Launcher.attackShard(data.materialize(shards[client]), worker: client, topology: topology)
    {
      shard = CompactDataset(poisoned)
      localSteps = group.attackLocalSteps
    }
    let training = LocalTraining(data: shard, topology: topology, stream: UInt64(client), localSteps: localSteps, network: network)
    return training.update(model: model, round: round).vector
  }
}
