import Foundation
import TestSupport
import Testing
@testable import Data
@testable import Learning
@testable import Runtime
@testable import Transport

/// A hand-written peer joins as the only worker and sends every kind of bad message; the
/// coordinator must count each under its reason and keep a finite model.
@Suite(.serialized) struct HostilePeerTests {
  @Test func coordinatorCountsEveryRejectionAndKeepsAFiniteModel() throws {
    let text = """
      name = "hostile"
      rounds = 3
      [data]
      train_limit = 500
      test_limit = 100
      [model]
      kind = "logreg"
      [coordinator]
      endpoint = "inproc"
      round_deadline_ms = 1500
      heartbeat_ms = 50
      liveness_ms = 5000
      [[workers]]
      count = 1
      [security]
      curve = false
      """
    let coordinator = try InProcessCoordinator(text, name: "hostile")
    let (run, wiring, context) = (coordinator.run, coordinator.wiring, coordinator.context)

    let d = 7_850  // logreg parameters
    let peer = try Socket(context, .dealer)
    try peer.setReceiveTimeout(milliseconds: 3000)
    try peer.connect(wiring.endpoint)
    // The shard holds 500 samples; an update stands for one batch of 32 (FedSGD).
    func header(_ t: FrameType, round: UInt32 = 0, count: Int = 0, run: UInt64 = wiring.runID, aux: UInt32 = 32) -> [UInt8] {
      FrameHeader(
        type: t, dtype: count > 0 ? .float32 : .none, runID: run, round: round, sender: 0, count: UInt32(count),
        aux: t == .hello ? 500 : aux
      ).encoded()
    }
    func floats(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
    // A hello that overstates the shard is refused; the true one joins.
    try peer.send([FrameHeader(type: .hello, runID: wiring.runID, round: 0, sender: 0, aux: 0xFFFF_FFFF).encoded()])
    try peer.send([header(.hello)])
    var rounds = 0
    while rounds < 3 {
      guard let m = try peer.receive() else { Issue.record("no message from the coordinator"); break }
      guard case let .success(h) = m[0].withUnsafeBytes({ FrameDecoder.parseHeader($0) }) else { continue }
      if h.type == .shutdown { break }
      guard h.type == .model else { continue }
      let r = h.round
      var nan = [Float](repeating: 0.01, count: d); nan[17] = .nan
      var inf = [Float](repeating: 0.01, count: d); inf[0] = -.infinity
      let good = floats([Float](repeating: 0.001, count: d))
      try peer.send([Array("garbage".utf8)])  // header_length
      try peer.send([header(.update, round: r, count: d, run: 99), good])  // wrong_run_id
      try peer.send([header(.update, round: r, count: d)])  // frame_count
      try peer.send([header(.update, round: r, count: d - 1), Array(good.dropLast(4))])  // wrong_length
      try peer.send([header(.update, round: r, count: d), Array(good.dropLast(4))])  // payload_length
      try peer.send([header(.update, round: r + 5, count: d), good])  // future_round
      try peer.send([header(.model, round: r, count: d), good])  // unexpected_type
      try peer.send([FrameHeader(type: .heartbeat, runID: wiring.runID, round: 5, sender: 0).encoded()])  // reserved_field
      if r == 0 {
        try peer.send([header(.update, round: r, count: d, aux: 0xFFFF_FFFF), good])  // sample_count_mismatch: its one answer
      } else {
        try peer.send([header(.update, round: r, count: d), floats(nan)])  // non_finite: its one answer
      }
      try peer.send([header(.update, round: r, count: d), floats(inf)])  // duplicate (already answered)
      try peer.send([header(.update, round: r, count: d), good])  // duplicate
      try peer.send([header(.update, round: r, count: d), good])  // duplicate
      rounds += 1
    }
    let s = try #require(coordinator.finish())
    let rejected = s.rejectedFrames
    for reason in [
      "header_length", "wrong_run_id", "frame_count", "wrong_length", "payload_length", "future_round", "unexpected_type", "reserved_field",
    ] {
      #expect((rejected[reason] ?? 0) >= 3, "\(reason): \(rejected)")
    }
    // One answer per worker and round: the overstated or NaN update is refused (and closes the
    // round for it); what follows in that round is a duplicate, and no round aggregates anything.
    #expect(rejected["non_finite"] == 2, "\(rejected)")
    #expect(rejected["sample_count_mismatch"] == 2, "\(rejected)")
    #expect((rejected["duplicate"] ?? 0) + (rejected["late"] ?? 0) >= 6, "\(rejected)")
    let lines = try String(contentsOfFile: run.metricsFile, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 3 && lines.allSatisfy { $0.contains("\"skipped\":\"no valid update") })
    let model = try ModelFile.read(run.modelFile)
    #expect(model.count == d && model.allSatisfy(\.isFinite))
  }
}

/// A prepared run whose coordinator runs on a thread of this process, for peers written by hand
/// to join over inproc://.
final class InProcessCoordinator: @unchecked Sendable {
  let run: RunDirectory
  let wiring: Wiring
  let context: Context
  private var summary: RunSummary?
  private let done = DispatchSemaphore(value: 0)

  init(_ text: String, name: String) throws {
    let topology = try Topology.decode(text, file: "\(name).toml")
    run = try Launcher.prepare(topology, runsRoot: Scratch.directory("byzsim-\(name)").path)
    wiring = try Wiring.load(run: run, topology: topology, role: .launcher, threads: true)
    context = try Context()
    let coordinator = try Coordinator(run: run, topology: topology, wiring: wiring, context: context, resume: false)
    nonisolated(unsafe) let c = coordinator
    Thread { [self] in
      summary = try? c.run(startupTimeout: .seconds(10))
      done.signal()
    }.start()
    usleep(50_000)
  }

  /// Waits for the run to end (at most 20 s), closes the context; the summary, nil if it failed.
  func finish() -> RunSummary? {
    #expect(done.wait(timeout: .now() + 20) == .success)
    context.shutdown()
    return summary
  }
}
