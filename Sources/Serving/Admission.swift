import Synchronization

/// Query budgets and rate limits per credential: a token bucket (`rate` per second, `burst`
/// deep) for requests, and a lifetime budget of predictions.
public final class Admission: Sendable {
  public enum Decision: Equatable, Sendable {
    case admitted
    /// Too fast: retry after this many seconds (whole, at least 1: the Retry-After header).
    case rateLimited(retryAfter: Int)
    /// The budget cannot cover this request's predictions.
    case budgetExhausted(remaining: Int)
  }

  struct Bucket {
    var tokens: Double
    var last: ContinuousClock.Instant
    var used = 0
  }

  private let state = Mutex<[String: Bucket]>([:])

  public init() {}

  /// Admits (and charges) a request of `predictions` inputs, or says why not.
  public func admit(_ credential: Credential, predictions: Int, now: ContinuousClock.Instant = .now) -> Decision {
    state.withLock { buckets in
      var b = buckets[credential.id] ?? Bucket(tokens: Double(credential.burst), last: now)
      if let rate = credential.rate {
        let elapsed = Double((now - b.last).components.seconds) + Double((now - b.last).components.attoseconds) / 1e18
        b.tokens = min(Double(credential.burst), b.tokens + max(0, elapsed) * rate)
        b.last = now
        guard b.tokens >= 1 else {
          buckets[credential.id] = b
          return .rateLimited(retryAfter: max(1, Int(((1 - b.tokens) / rate).rounded(.up))))
        }
      }
      if let budget = credential.budget, b.used + predictions > budget {
        buckets[credential.id] = b
        return .budgetExhausted(remaining: max(0, budget - b.used))
      }
      if credential.rate != nil { b.tokens -= 1 }
      b.used += predictions
      buckets[credential.id] = b
      return .admitted
    }
  }

  /// Predictions left in the credential's budget (nil: no budget).
  public func remaining(_ credential: Credential) -> Int? {
    guard let budget = credential.budget else { return nil }
    return budget - state.withLock { $0[credential.id]?.used ?? 0 }
  }
}
