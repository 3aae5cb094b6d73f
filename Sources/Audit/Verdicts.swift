/// Accumulates per-round evidence into a verdict per worker with a one-sided CUSUM on the
/// mean robust z-score of the auditors (each clipped to [−5, 10] so one auditor cannot dominate):
///
///     Cᵢ ← max(0, Cᵢ + zᵢ − k);   flagged when Cᵢ > h, cleared again when Cᵢ < h/2
///
/// With k = 1 an honest worker (z ≈ N(0, 1)) drifts down by about 1 per round and stays near 0;
/// an attacker whose z stays above k climbs to h in a few rounds. Defaults k = 1, h = 10.
///
/// The mean needs most auditors to agree. So that one auditor which sees what the others cannot
/// — Sybils' identical histories (history_similarity), hidden low mantissa bits (mantissa_chi2)
/// — can convict alone, `update(perAuditor:ids:)` also runs one CUSUM per auditor on its own
/// clipped z with a slack of 3k (at least 3) and a threshold of 3h: a worker is flagged when the
/// combined CUSUM exceeds h or any single-auditor CUSUM exceeds 3h, and cleared when all are back
/// below half their thresholds. With ten-odd workers honest robust z are heavy-tailed (about 1%
/// above 5) and history-based scores are autocorrelated, hence the stricter single threshold
/// (chosen on honest 200-round runs, seeds 1–4: no flag; ALIE Sybils: flagged by
/// history_similarity within 25–42 rounds). A Sybil's history z sits at the clip, 10.
public struct CUSUM: Sendable {
  public let k: Double
  public let h: Double
  public private(set) var state: [Int: Double] = [:]
  /// Per auditor (in the order given to `update(perAuditor:ids:)`): each worker's single-auditor CUSUM.
  public private(set) var auditorState: [[Int: Double]] = []
  public private(set) var flagged: Set<Int> = []
  /// The single-auditor CUSUMs' slack and threshold.
  public var singleK: Double { max(3, 3 * k) }
  public var singleH: Double { 3 * h }

  public init(k: Double = 1, h: Double = 10) {
    precondition(k >= 0 && h > 0, "CUSUM needs k >= 0 and h > 0")
    self.k = k; self.h = h
  }

  /// Adds one round of per-worker combined z-scores; returns the workers newly flagged and cleared.
  @discardableResult
  public mutating func update(_ z: [Int: Double]) -> (flagged: [Int], cleared: [Int]) {
    advance(z, singles: [:])
  }

  /// One round of every auditor's robust z (`perAuditor[a][i]` for worker `ids[i]`): updates the
  /// combined CUSUM (on `combine`, also returned) and the single-auditor ones; returns the
  /// workers newly flagged and cleared.
  @discardableResult
  public mutating func update(perAuditor: [[Double]], ids: [Int]) -> (flagged: [Int], cleared: [Int], combined: [Int: Double]) {
    let combined = Self.combine(perAuditor, ids: ids)
    if auditorState.count != perAuditor.count { auditorState = Array(repeating: [:], count: perAuditor.count) }
    // Each worker's highest single-auditor CUSUM, on the combined CUSUM's scale (h / singleH).
    var singles: [Int: Double] = [:]
    for (i, id) in ids.enumerated() {
      for a in perAuditor.indices where i < perAuditor[a].count {
        let z = min(10, max(-5, perAuditor[a][i]))
        let s = max(0, (auditorState[a][id] ?? 0) + z - singleK)
        auditorState[a][id] = s
        singles[id] = max(singles[id] ?? 0, s * h / singleH)
      }
    }
    let (newly, cleared) = advance(combined, singles: singles)
    return (newly, cleared, combined)
  }

  /// Everything the CUSUM accumulated, as exact Doubles for a checkpoint: the combined states
  /// (count, then id/value pairs by id), each auditor's states likewise (auditor count first),
  /// and the flagged ids (count, then ids).
  public var snapshot: [Double] {
    func pairs(_ d: [Int: Double]) -> [Double] { [Double(d.count)] + d.keys.sorted().flatMap { [Double($0), d[$0]!] } }
    return pairs(state) + [Double(auditorState.count)] + auditorState.flatMap(pairs) + [Double(flagged.count)]
      + flagged.sorted().map(Double.init)
  }

  /// A CUSUM restored from `snapshot`; throws on any malformed count, id or value.
  public init(k: Double, h: Double, snapshot s: [Double]) throws {
    self.init(k: k, h: h)
    var i = 0
    func next() throws -> Double {
      guard i < s.count else { throw AuditStateError("the CUSUM snapshot is truncated at value \(i)") }
      defer { i += 1 }
      return s[i]
    }
    func count(_ limit: Int) throws -> Int {
      let v = try next()
      guard v.isFinite, v >= 0, v <= Double(limit), v.rounded() == v else { throw AuditStateError("bad count \(v) in the CUSUM snapshot") }
      return Int(v)
    }
    func pairs() throws -> [Int: Double] {
      var d: [Int: Double] = [:]
      for _ in 0..<(try count(1 << 20)) {
        let id = try count(1 << 24), v = try next()
        guard v.isFinite, v >= 0, d[id] == nil else { throw AuditStateError("bad CUSUM value \(v) for worker \(id)") }
        d[id] = v
      }
      return d
    }
    state = try pairs()
    auditorState = try (0..<(try count(64))).map { _ in try pairs() }
    flagged = Set(try (0..<(try count(1 << 20))).map { _ in try count(1 << 24) })
    guard i == s.count else { throw AuditStateError("\(s.count - i) values after the end of the CUSUM snapshot") }
  }

  /// The combined CUSUM step, then the verdicts on the larger of it and `singles`.
  private mutating func advance(_ z: [Int: Double], singles: [Int: Double]) -> (flagged: [Int], cleared: [Int]) {
    var newly: [Int] = [], cleared: [Int] = []
    for id in z.keys.sorted() {
      let c = max(0, (state[id] ?? 0) + z[id]! - k)
      state[id] = c
      let highest = max(c, singles[id] ?? 0)
      if highest > h, !flagged.contains(id) { flagged.insert(id); newly.append(id) }
      if highest < h / 2, flagged.contains(id) { flagged.remove(id); cleared.append(id) }
    }
    return (newly, cleared)
  }

  /// The combined evidence of several auditors for one round: the mean of their clipped robust z.
  public static func combine(_ perAuditor: [[Double]], ids: [Int]) -> [Int: Double] {
    guard let first = perAuditor.first else { return [:] }
    var out: [Int: Double] = [:]
    for (i, id) in ids.enumerated() where i < first.count {
      out[id] = perAuditor.reduce(0) { $0 + min(10, max(-5, $1[i])) } / Double(perAuditor.count)
    }
    return out
  }
}

/// Detection quality against the ground truth (evaluation only).
public enum DetectionMetrics {
  public struct Confusion: Sendable, Equatable {
    public var tp = 0, fp = 0, fn = 0, tn = 0
    public var precision: Double? { tp + fp == 0 ? nil : Double(tp) / Double(tp + fp) }
    public var recall: Double? { tp + fn == 0 ? nil : Double(tp) / Double(tp + fn) }
    public var f1: Double? {
      guard let p = precision, let r = recall, p + r > 0 else { return tp + fp + fn == 0 ? nil : 0 }
      return 2 * p * r / (p + r)
    }
    public var falsePositiveRate: Double? { fp + tn == 0 ? nil : Double(fp) / Double(fp + tn) }
  }

  public static func confusion(flagged: Set<Int>, malicious: Set<Int>, workers: [Int]) -> Confusion {
    var c = Confusion()
    for w in workers {
      switch (flagged.contains(w), malicious.contains(w)) {
      case (true, true): c.tp += 1
      case (true, false): c.fp += 1
      case (false, true): c.fn += 1
      case (false, false): c.tn += 1
      }
    }
    return c
  }

  /// ROC AUC of scores for separating malicious from honest workers (Mann–Whitney U; ties count
  /// one half). Nil without both classes.
  public static func auc(_ scores: [Int: Double], malicious: Set<Int>) -> Double? {
    let pos = scores.filter { malicious.contains($0.key) }.map(\.value)
    let neg = scores.filter { !malicious.contains($0.key) }.map(\.value)
    guard !pos.isEmpty, !neg.isEmpty else { return nil }
    var u = 0.0
    for p in pos { for n in neg { u += p > n ? 1 : (p == n ? 0.5 : 0) } }
    return u / Double(pos.count * neg.count)
  }

  /// For each malicious worker, the first round (0-based index into `flaggedByRound`) at which it
  /// was flagged, or nil if never.
  public static func roundsToFirstDetection(_ flaggedByRound: [Set<Int>], malicious: Set<Int>) -> [Int: Int?] {
    Dictionary(uniqueKeysWithValues: malicious.sorted().map { w in (w, flaggedByRound.firstIndex { $0.contains(w) }) })
  }
}

/// A malformed auditor or CUSUM state (from a checkpoint).
public struct AuditStateError: Error, CustomStringConvertible {
  public let description: String
  public init(_ d: String) { description = d }
}
