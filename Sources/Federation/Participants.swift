import Tensor

/// Who takes part in a round: every live worker, or with `fraction` < 1 a subset of
/// round(fraction · live) (at least one) drawn from a stream of (seed, round) — the same
/// whatever the timing, the process layout or a resume.
public enum Participants {
  public static func select(live: [Int], fraction: Double, seed: UInt64, round: Int) -> [Int] {
    guard fraction < 1, !live.isEmpty else { return live }
    var rng = RandomStream(seed: seed, purpose: .sampling, UInt64.max, UInt64(round))
    let k = max(1, Int((fraction * Double(live.count)).rounded()))
    return rng.sample(k, from: live.count).map { live[$0] }.sorted()
  }

  /// Round `round`'s logical clients: `k` of `count`, drawn from a stream of (seed, round) of
  /// their own, ascending.
  public static func clients(_ k: Int, of count: Int, seed: UInt64, round: Int) -> [Int] {
    var rng = RandomStream(seed: seed, purpose: .sampling, UInt64.max - 2, UInt64(round))
    return rng.sample(k, from: count).sorted()
  }
}
