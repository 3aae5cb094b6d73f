import Attacks
import Foundation
import Tensor
import Transport

/// The adversary hub: every malicious worker of a run sends it its honestly computed update and
/// receives the update to submit. In omniscient runs the coordinator also leaks the round's
/// roster and every valid update it receives. Per worker group, the hub crafts once all that
/// group's participants of the round have reported (and, if omniscient, all honest
/// participants), or when `waitMs` has passed since the first report.
public final class AdversaryHub {
  let topology: Topology
  let wiring: Wiring
  let context: Context
  let run: RunDirectory
  var attacks: [Int: any UpdateAttack] = [:]  // group index → attack (stateful ones keep state)
  let decoder: FrameDecoder
  let modelSize: Int
  let waitMs: Int

  struct RoundState {
    var own: [Int: [Float]] = [:]
    var leaked: [Int: [Float]] = [:]
    var roster: Set<Int>?
    var firstReport: ContinuousClock.Instant?
    var crafted: Set<Int> = []  // groups crafted at least once this round
    var answered: Set<Int> = []  // workers answered this round
  }
  var rounds: [Int: RoundState] = [:]
  var routing: [Int: [UInt8]] = [:]
  var live: Set<Int> = []

  public init(run: RunDirectory, topology: Topology, wiring: Wiring, context: Context) throws {
    self.run = run; self.topology = topology; self.wiring = wiring; self.context = context
    modelSize = wiring.modelSize
    // Logical clients: senders are pool processes, rosters list clients.
    decoder = FrameDecoder(runID: wiring.runID, modelSize: modelSize, workerCount: max(topology.workerCount, topology.processCount))
    // Half of what a worker waits for the hub (round deadline / 2), so the hub always answers first.
    waitMs = max(100, topology.coordinator.roundDeadlineMs / 4)
    for (k, g) in topology.workers.enumerated() where g.hasUpdateAttack {
      attacks[k] = try AttackRegistry.update(g.behavior, g.attack)
    }
  }

  /// Serves until the context is shut down or the coordinator's leak socket says shutdown;
  /// `onListening` runs once the hub's socket is bound.
  public func serve(onListening: () -> Void = {}) throws {
    if wiring.curve {
      var allowed: [String: String] = [:]
      // Any pool process may run an attacking client; otherwise only the malicious workers connect.
      let ids = topology.clients == nil ? topology.maliciousIDs : Array(0..<topology.processCount)
      for id in ids { if let key = wiring.workerPublicKeys[id] { allowed[key] = String(id) } }
      if let c = wiring.coordinatorPublicKey { allowed[c] = "coordinator" }
      _ = try ZAPHandler(context: context, allowed: allowed)
    }
    let socket = try Socket(context, .router)
    try socket.setRouterMandatory()
    try socket.setMaxMessageSize(wiring.maxMessageSize)
    if wiring.curve, let keys = wiring.ownKeys { try socket.makeCurveServer(keys) }
    try socket.bind(wiring.hubEndpoint)
    onListening()
    while true {
      let readable: Bool
      do { readable = try Socket.poll([socket], timeoutMilliseconds: 50)[0] } catch { return }
      if readable {
        do {
          while let message = try socket.receive(dontWait: true) {
            if handle(message, socket) { return }
          }
        } catch {
          return  // the context is shutting down
        }
      }
      craftReady(socket)
    }
  }

  /// Returns true on shutdown.
  func handle(_ message: [Message], _ socket: Socket) -> Bool {
    guard message.count >= 2 else { return false }
    let rid = message[0].bytes
    guard case let .success(frame) = decoder.decode(Array(message.dropFirst())) else { return false }
    let h = frame.header
    let fromCoordinator = h.sender == FrameHeader.coordinatorID
    if wiring.curve {
      let user = message[1].property("User-Id")
      guard user == (fromCoordinator ? "coordinator" : String(h.sender)) else { return false }
    }
    switch h.type {
    case .shutdown where fromCoordinator:
      return true
    case .roster where fromCoordinator:
      rounds[Int(h.round), default: RoundState()].roster = Set(frame.payload.compactMap { Int(exactly: $0) })
    case .update where fromCoordinator:
      rounds[Int(h.round), default: RoundState()].leaked[Int(h.aux)] = frame.payload
    case .hello where !fromCoordinator:
      routing[Int(h.sender)] = rid
      live.insert(Int(h.sender))
    case .update where !fromCoordinator && topology.clients == nil:
      report(Int(h.sender), frame, rid)
    case .clientUpdate where !fromCoordinator && topology.clients != nil:
      // A pool process hands over one of its clients' updates: only an update attacker's is taken.
      let client = Int(h.aux)
      guard client < topology.workerCount, topology.group(of: client).group.hasUpdateAttack else { return false }
      report(client, frame, rid)
    default:
      break
    }
    return false
  }

  /// Attacker `w`'s honest update for the frame's round, answered through `rid`.
  func report(_ w: Int, _ frame: Frame, _ rid: [UInt8]) {
    routing[w] = rid
    live.insert(w)
    var st = rounds[Int(frame.header.round), default: RoundState()]
    st.own[w] = frame.payload
    if st.firstReport == nil { st.firstReport = ContinuousClock.now }
    rounds[Int(frame.header.round)] = st
  }

  /// Per round and group: once every expected attacker reported (or the wait ran out), craft
  /// for all of them; an attacker that reports after its group was crafted is answered at once
  /// (crafted with everything known by then).
  func craftReady(_ socket: Socket) {
    for r in rounds.keys.sorted() {
      guard var st = rounds[r], let first = st.firstReport else { continue }
      let timedOut = ContinuousClock.now - first > .milliseconds(waitMs)
      for (k, attack) in attacks.sorted(by: { $0.key < $1.key }) {
        let own = st.own.filter { topology.group(of: $0.key).index == k }
        let pending = Set(own.keys).subtracting(st.answered)
        guard !pending.isEmpty else { continue }
        // With a roster only its members can be expected (thousands of logical clients: never scan them all).
        let candidates =
          st.roster.map { roster in roster.filter { topology.group(of: $0).index == k } }
          ?? topology.members(ofGroup: k).filter(live.contains)
        let expected = candidates.filter { topology.isActiveAttacker($0, round: r) }
        let g = topology.workers[k]
        var honest: [Int: [Float]]?
        var ready = st.crafted.contains(k) || timedOut || Set(own.keys).isSuperset(of: expected)
        if g.knowledge == .omniscient {
          // Honest this round: everyone not attacking in it (re-sampled groups' idle members too).
          let malicious = Set(
            (st.roster.map(Array.init) ?? Array(0..<topology.workerCount)).filter { topology.isActiveAttacker($0, round: r) })
          let h = st.leaked.filter { !malicious.contains($0.key) }
          let wanted = (st.roster ?? []).subtracting(malicious)
          if !timedOut && !st.crafted.contains(k) && (st.roster == nil || !wanted.isSubset(of: Set(h.keys))) { ready = false }
          honest = h
        }
        guard ready else { continue }
        var rng = RandomStream(seed: topology.seed, purpose: .attack, 0x4B, UInt64(k), UInt64(r))
        var a = attack
        let input = AttackInput(round: r, own: own, honest: honest, participants: st.roster?.count ?? topology.expectedParticipants)
        let outputs: [Int: AttackOutput]
        do {
          outputs = try a.craft(input, rng: &rng)
        } catch {
          run.logEvent("adversary hub: round \(r + 1): \(g.behavior) failed (\(error)); attackers submit their honest updates")
          outputs = own.mapValues { .vector($0) }
        }
        if !st.crafted.contains(k) { attacks[k] = a }  // stateful attacks advance once per round
        for (w, out) in outputs.sorted(by: { $0.key < $1.key }) where pending.contains(w) {
          guard let rid = routing[w] else { continue }
          send(out, for: w, round: r, to: rid, socket)
          st.answered.insert(w)
        }
        st.crafted.insert(k)
      }
      rounds[r] = st
    }
    // Keep the newest round and the one before (a straggler's report for it is still answered);
    // older rounds are closed at the coordinator, and their leaked updates are the hub's largest
    // memory (80 CNN updates, 85 MB, a round in a Fang cell).
    if let newest = rounds.keys.max() { for r in rounds.keys where r < newest - 1 { rounds[r] = nil } }
  }

  /// One crafted answer (an update, or a drop) to the process of attacker `w`. If that process
  /// has gone (ROUTER_MANDATORY: unroutable), nobody is left to submit it: the failure is
  /// recorded in events.log and the answer is not sent again.
  func send(_ out: AttackOutput, for w: Int, round r: Int, to rid: [UInt8], _ socket: Socket) {
    // To a pool process the answer names its client (aux); a worker is its own attacker.
    let client = topology.clients == nil ? 0 : UInt32(w)
    do {
      switch out {
      case let .vector(v):
        let h = FrameHeader(
          type: topology.clients == nil ? .update : .clientUpdate, dtype: .float32, runID: wiring.runID, round: UInt32(r),
          sender: FrameHeader.coordinatorID, count: UInt32(v.count), aux: client)
        try socket.send([.bytes(rid), .bytes(h.encoded()), .floats(FloatBuffer(v))])
      case .drop:
        let h = FrameHeader(type: .drop, runID: wiring.runID, round: UInt32(r), sender: FrameHeader.coordinatorID, aux: client)
        try socket.send([.bytes(rid), .bytes(h.encoded())])
      }
    } catch {
      let who = topology.clients == nil ? "worker" : "client"
      run.logEvent("adversary hub: round \(r + 1): the answer for \(who) \(w) could not be sent (\(error))")
    }
  }
}
