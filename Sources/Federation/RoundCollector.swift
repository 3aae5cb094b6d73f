import Aggregation

/// Which updates of one round the coordinator takes — the engine's screen: one per participant,
/// for this round, with the sample count the assignment gives it, finite and of bounded norm.
/// Pure: the coordinator's socket loop offers what it receives and asks whom it still waits for.
public struct RoundCollector: Sendable {
  /// Why an offered update is not taken.
  public enum Refusal: String, Sendable, Equatable {
    /// From a worker that is not a participant of this round.
    case notParticipant
    /// For the previous round (arrived after it closed).
    case late
    /// For an older round.
    case staleRound
    /// For a round not started yet.
    case futureRound
    /// A second answer for this round.
    case duplicate
    /// Claims another sample count than the assignment's.
    case sampleCountMismatch
    /// Holds a NaN or ±Inf.
    case nonFinite
    /// Its norm exceeds the run's bound.
    case normTooLarge
  }

  public let round: Int
  public let participants: [Int]
  /// Samples behind each worker's update (by worker id), from the assignment.
  let expectedSamples: [Int]
  let maxNorm: Double
  /// The taken updates, by worker id.
  public private(set) var received: [Int: [Float]] = [:]
  /// Participants whose answer was refused for its content: they answered (the round need not
  /// wait for them), their update is not aggregated.
  public private(set) var refused: Set<Int> = []

  public init(round: Int, participants: [Int], expectedSamples: [Int], maxNorm: Double) {
    self.round = round; self.participants = participants; self.expectedSamples = expectedSamples; self.maxNorm = maxNorm
  }

  /// Offers worker `sender`'s update for `forRound`, claiming `samples`.
  public mutating func offer(sender: Int, forRound: Int, samples: Int, payload: [Float]) -> Refusal? {
    guard participants.contains(sender) else { return .notParticipant }
    guard forRound == round else { return forRound < round ? (forRound + 1 == round ? .late : .staleRound) : .futureRound }
    guard received[sender] == nil, !refused.contains(sender) else { return .duplicate }
    guard samples == expectedSamples[sender] else {
      refused.insert(sender)
      return .sampleCountMismatch
    }
    if let why = UpdateScreen.problem(payload, maxNorm: maxNorm) {
      refused.insert(sender)
      return why == .nonFinite ? .nonFinite : .normTooLarge
    }
    received[sender] = payload
    return nil
  }

  /// Participants, among those `alive`, that have not answered yet.
  public func waiting(alive: (Int) -> Bool) -> [Int] {
    participants.filter { received[$0] == nil && !refused.contains($0) && alive($0) }
  }

  /// The taken updates in worker-id order (never arrival order), with their sample counts.
  public var updates: [RoundEngine.Update] {
    received.keys.sorted().map { RoundEngine.Update(id: $0, vector: received[$0]!, samples: expectedSamples[$0]) }
  }
}
