import ArgumentParser
import Foundation
import SecureAggregation

/// `byzsim-bench secagg`: one round of secure aggregation in one process, each phase timed, against
/// the plain sum of the same updates measured in the same run.
struct SecureAggregationBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "secagg",
    abstract: "Secure aggregation: time per phase for n participants and d parameters, against the plain sum.",
    discussion: """
      All participants' and the server's work for one round run in this process, one after the
      other (a run spreads the participants' share over their processes): key generation, key
      sharing, masking, unmasking with --dropped participants lost after sharing. The plain sum of
      the same fixed-point inputs is the baseline.
      """)

  @Option(help: "Participants.")
  var participants = 10
  @Option(help: "Parameters (50,890: the MLP(64) of the experiments).")
  var dimension = 50_890
  @Option(help: "Participants that drop after sharing their keys.")
  var dropped = 1

  func run() throws {
    guard participants >= 3, dimension >= 1, dropped >= 0, participants - dropped >= SecureAggregation.minimumThreshold(participants) else {
      throw ValidationError("--participants at least 3, and enough left after --dropped to reach the threshold")
    }
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let inputs = (0..<participants).map { _ in
      (0..<dimension).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
      }
    }
    var clock = ContinuousClock.now
    func lap() -> Double {
      let now = ContinuousClock.now
      defer { clock = now }
      return (now - clock).seconds * 1000
    }
    var plain = [UInt64](repeating: 0, count: dimension)
    for x in inputs { for i in plain.indices { plain[i] &+= x[i] } }
    let plainMs = lap()
    let clients = (0..<participants).map { SecureAggregationClient(id: $0, round: 0) }
    var server = SecureAggregationServer(round: 0, dimension: dimension)
    for c in clients { try server.receiveAdvertisement(from: c.id, c.advertisement) }
    let roster = try server.roster()
    let keysMs = lap()
    for c in clients { try server.receiveShares(from: c.id, try c.shareKeys(roster: roster)) }
    let sharesMs = lap()
    let survivors = clients.dropLast(dropped)
    for c in survivors {
      try server.receiveMasked(from: c.id, try c.maskedInput(forwarded: try server.forwarded(to: c.id), input: inputs[c.id]))
    }
    let maskMs = lap()
    let list = try server.survivorList()
    for c in survivors { try server.receiveReveal(from: c.id, try c.unmask(survivors: list)) }
    let sum = try server.sum()
    let unmaskMs = lap()
    var expected = [UInt64](repeating: 0, count: dimension)
    for c in survivors { for i in expected.indices { expected[i] &+= inputs[c.id][i] } }
    guard sum == expected else { throw ValidationError("the unmasked sum is wrong") }
    let total = keysMs + sharesMs + maskMs + unmaskMs
    print(
      String(
        format:
          "  %d participants (%d dropped after sharing), d = %d: keys %.1f ms, shares %.1f ms, masking %.1f ms (%.2f per participant), unmasking %.1f ms; total %.1f ms vs plain sum %.2f ms (%.0f×)",
        participants, dropped, dimension, keysMs, sharesMs, maskMs, maskMs / Double(participants - dropped), unmaskMs, total, plainMs,
        total / max(plainMs, 1e-9)))
  }
}
