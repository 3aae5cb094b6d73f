import Federation
import Foundation
import SecureAggregation
import Transport

/// A round under secure aggregation (`secure_aggregation` in `[coordinator]`): after the model
/// goes out, the coordinator runs one instance of Bonawitz et al.'s protocol
/// (`SecureAggregation`) with the round's participants — keys, shares, masked inputs,
/// unmasking, each phase until everyone answered or the round deadline — and learns only the
/// sample-weighted sum of the survivors' updates.
struct SecureRound {
  /// The sample-weighted mean of the survivors' updates; nil when the round could not finish.
  var mean: [Float]?
  var survivors: [Int] = []
  /// Why the round could not finish.
  var failure: String?
  /// What the coordinator saw of each survivor: its masked input, decoded as if it were an update.
  var seen: [RoundEngine.Update] = []
  var events: [String] = []
}

extension Coordinator {
  func collectSecure(_ round: Int, participants: [Int], socket: Socket) throws -> SecureRound {
    let d = network.parameterCount
    var server = SecureAggregationServer(round: round, dimension: d, threshold: topology.coordinator.secureAggregation?.threshold)
    var out = SecureRound()
    // A refused message drops its sender from the rest of the round.
    func take(_ w: Int, _ what: String, _ body: () throws -> Void) {
      do { try body() } catch {
        refusals.record(peer: "worker \(w)", what: "round \(round + 1): \(what) from worker \(w) refused: \(error)")
        reject(.secureAggregation)
      }
    }
    // Round 0: keys (each participant trains first, then advertises with its sample count).
    try gather(round, .secAggAdvertise, from: participants, socket: socket) { w, h, bytes in
      if Int(h.aux) != expectedSamples[w] {
        refusals.record(
          peer: "worker \(w)", what: "round \(round + 1): worker \(w) claimed \(h.aux) samples, assigned \(expectedSamples[w]): refused")
        return reject(.sampleCountMismatch)
      }
      take(w, "keys") { try server.receiveAdvertisement(from: w, bytes) }
    }
    do {
      let roster = try server.roster()
      for w in server.u1 { send(socket, w, .secAggRoster, round, roster) }
      // Round 1: shares, forwarded to U2.
      try gather(round, .secAggShares, from: server.u1, socket: socket) { w, _, bytes in
        take(w, "key shares") { try server.receiveShares(from: w, bytes) }
      }
      for w in server.u2 { send(socket, w, .secAggForward, round, try server.forwarded(to: w)) }
      // Round 2: masked inputs; the survivors U3.
      try gather(round, .secAggMasked, from: server.u2, socket: socket) { w, _, bytes in
        take(w, "masked input") { try server.receiveMasked(from: w, bytes) }
      }
      let survivors = try server.survivorList()
      for w in server.u3 { send(socket, w, .secAggSurvivors, round, survivors) }
      // Round 4: reveals, then the sum.
      try gather(round, .secAggReveal, from: server.u3, socket: socket) { w, _, bytes in
        take(w, "reveal") { try server.receiveReveal(from: w, bytes) }
      }
      let sum = try server.sum()
      let samples = server.u3.reduce(0) { $0 + expectedSamples[$1] }
      out.mean = FixedPoint.decode(sum, divisor: Double(samples))
      out.survivors = server.u3
    } catch let e as SecureAggregationError {
      out.failure = "secure aggregation did not finish: \(e)"
    }
    out.seen = server.masked.keys.sorted().map { w in
      RoundEngine.Update(
        id: w, vector: FixedPoint.decode(server.masked[w]!, divisor: Double(expectedSamples[w])), samples: expectedSamples[w])
    }
    let dropped = Set(server.u2).subtracting(server.u3).sorted()
    out.events.append(
      "round \(round + 1): secure aggregation: \(server.u1.count) advertised, \(server.u2.count) shared, \(server.u3.count) masked, \(server.revealCount) revealed (threshold \(server.threshold))"
        + (dropped.isEmpty ? "" : "; masks of dropped worker(s) \(dropped.map(String.init).joined(separator: ", ")) removed"))
    return out
  }

  func send(_ socket: Socket, _ w: Int, _ type: FrameType, _ round: Int, _ bytes: [UInt8]) {
    let h = FrameHeader(
      type: type, dtype: .bytes, runID: wiring.runID, round: UInt32(round), sender: FrameHeader.coordinatorID, count: UInt32(bytes.count))
    sendTo(socket, w, [.bytes(h.encoded()), .bytes(bytes)])
  }

  /// Pumps until every live worker of `expected` sent one `type` message for `round`, or the round
  /// deadline. Other types and rounds are counted as rejections; repeats are the server's to refuse.
  func gather(
    _ round: Int, _ type: FrameType, from expected: [Int], socket: Socket, _ body: (Int, FrameHeader, [UInt8]) -> Void
  ) throws {
    var waiting = Set(expected)
    let deadline = ContinuousClock.now + .milliseconds(topology.coordinator.roundDeadlineMs)
    while ContinuousClock.now < deadline, waiting.contains(where: { workers[$0].alive }) {
      try pump(socket, until: min(deadline, ContinuousClock.now + .milliseconds(topology.coordinator.heartbeatMs)), round: round) {
        h, frame in
        let w = Int(h.sender)
        guard h.type == type, expected.contains(w) else { return reject(.unexpectedType) }
        guard Int(h.round) == round else { return reject(Int(h.round) < round ? .staleRound : .futureRound) }
        waiting.remove(w)
        body(w, h, frame.bytes)
      }
    }
  }
}
