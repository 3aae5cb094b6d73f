import Foundation
import TestSupport
import Testing
@testable import Runtime
@testable import Transport

/// Two hand-written peers join as the pool of a run of logical clients. Pool process 0 also
/// speaks for clients it was not given (another process's, and one outside the run) and sends
/// a worker's kind of update: each is refused under its reason, and every round aggregates
/// exactly the clients it drew.
@Suite(.serialized) struct HostilePoolTests {
  @Test func aPoolProcessSpeaksOnlyForItsOwnClients() throws {
    let text = """
      name = "hostile-pool"
      rounds = 3
      clients = 10
      clients_per_round = 4
      pool = 2
      [data]
      train_limit = 500
      test_limit = 100
      [model]
      kind = "logreg"
      [coordinator]
      endpoint = "inproc"
      round_deadline_ms = 3000
      heartbeat_ms = 50
      liveness_ms = 5000
      [[workers]]
      count = 10
      [security]
      curve = false
      """
    let coordinator = try InProcessCoordinator(text, name: "hostile-pool")
    let (run, wiring, context) = (coordinator.run, coordinator.wiring, coordinator.context)

    let d = 7_850  // logreg parameters
    let good = [Float](repeating: 0.001, count: d).withUnsafeBytes { Array($0) }
    func update(_ sender: UInt32, client: UInt32, round: UInt32, type: FrameType = .clientUpdate) -> [[UInt8]] {
      [
        FrameHeader(type: type, dtype: .float32, runID: wiring.runID, round: round, sender: sender, count: UInt32(d), aux: client)
          .encoded(),
        good,
      ]
    }
    let peers = try (0..<2).map { p in
      let s = try Socket(context, .dealer)
      try s.setReceiveTimeout(milliseconds: 3000)
      try s.connect(wiring.endpoint)
      // A pool process states the run's clients, not samples.
      try s.send([FrameHeader(type: .hello, runID: wiring.runID, round: 0, sender: UInt32(p), aux: 10).encoded()])
      return s
    }
    var assigned: [[Int]] = [[], []]
    var finished = [false, false]
    while !finished.allSatisfy({ $0 }) {
      for p in 0..<2 where !finished[p] {
        guard let m = try peers[p].receive() else { Issue.record("pool \(p): no message from the coordinator"); return }
        guard case let .success(h) = m[0].withUnsafeBytes({ FrameDecoder.parseHeader($0) }) else { continue }
        if h.type == .shutdown { finished[p] = true; continue }
        guard h.type == .assign else { continue }
        let ids = ClientPool.clientIDs(m[1].bytes, below: 10)
        assigned[p] = ids
        if p == 0 {
          // Another process's client, a client outside the run, a worker's update type.
          let others = (0..<10).filter { !ids.contains($0) }
          try peers[0].send(update(0, client: UInt32(others[0]), round: h.round))
          try peers[0].send(update(0, client: 4_000_000, round: h.round))
          try peers[0].send(update(0, client: UInt32(ids[0]), round: h.round, type: .update))
        }
        for client in ids { try peers[p].send(update(UInt32(p), client: UInt32(client), round: h.round)) }
      }
    }
    let s = try #require(coordinator.finish())
    #expect(s.rejectedFrames["unassigned_client"] == 6, "\(s.rejectedFrames)")
    #expect(s.rejectedFrames["unexpected_type"] == 3, "\(s.rejectedFrames)")
    let lines = try String(contentsOfFile: run.metricsFile, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 3)
    for line in lines {
      let m = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      let participants = try #require(m["participants"] as? [Int])
      #expect(participants.count == 4 && m["aggregated"] as? [Int] == participants, "\(line)")
    }
    #expect(assigned.map(\.count).reduce(0, +) == 4)
  }
}
