import Foundation
import TestSupport
import Testing
@testable import Runtime
@testable import Transport

/// The hub's answers go to attacker processes through a ROUTER that refuses unroutable peers:
/// an answer for a process that has gone is not lost silently but recorded in events.log.
@Suite struct AdversaryHubTests {
  @Test func anAnswerNobodyCanReceiveIsLogged() throws {
    let topology = try Topology.decode(
      """
      name = "hub-send"
      rounds = 1
      [data]
      train_limit = 200
      test_limit = 50
      [model]
      kind = "logreg"
      [coordinator]
      endpoint = "inproc"
      [[workers]]
      count = 3
      [[workers]]
      count = 2
      behavior = "alie"
      [security]
      curve = false
      """, file: "hub-send.toml")
    let run = try Launcher.prepare(topology, runsRoot: Scratch.directory("byzsim-hub-send").path)
    defer { Scratch.remove(URL(fileURLWithPath: run.path).deletingLastPathComponent()) }
    let wiring = try Wiring.load(run: run, topology: topology, role: .launcher, threads: true)
    let context = try Context()
    defer { context.shutdown() }
    let hub = try AdversaryHub(run: run, topology: topology, wiring: wiring, context: context)
    let socket = try Socket(context, .router)
    try socket.setRouterMandatory()
    try socket.bind("inproc://hub-send-\(UUID().uuidString)")
    hub.send(.vector([Float](repeating: 0.5, count: wiring.modelSize)), for: 4, round: 2, to: Array("gone".utf8), socket)
    hub.send(.drop, for: 3, round: 2, to: Array("gone".utf8), socket)
    let events = try String(contentsOfFile: run.eventsFile, encoding: .utf8)
    #expect(events.contains("adversary hub: round 3: the answer for worker 4 could not be sent"), "\(events)")
    #expect(events.contains("adversary hub: round 3: the answer for worker 3 could not be sent"), "\(events)")
  }
}
