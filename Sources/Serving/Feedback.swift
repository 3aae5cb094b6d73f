import Drift
import Runtime
import Foundation
import Prometheus
import Synchronization

/// `[feedback]`: true labels arriving after the predictions they judge (`POST /v1/feedback`,
/// role `feedback`), as in production where a label comes days after the decision. The server
/// keeps its last `keep` predictions (request number, inputs, predicted labels); a label for one
/// of them is checked — a known request, one label per input, classes in range, not labelled
/// before — or refused with a reason that is counted. Accepted labels feed the accuracy over the
/// last `window` labels, and CUSUM and Page–Hinkley on the accuracy of successive blocks of
/// `block` labels (subgroup means, as in Montgomery's CUSUM for grouped data: a block's accuracy
/// is close to normal, where one 0/1 outcome is not), set up from the first `window` labels:
/// μ₀ their accuracy, σ the larger of the binomial standard error √(μ₀(1 − μ₀)/block) and the
/// standard deviation of the burn-in's block accuracies (the class mix makes real blocks vary
/// more than coin flips), k = δ = σ/2, h = λ = 5σ (in-control average run length 465 blocks).
/// Both watch for a fall only: CUSUM is given min(block accuracy, μ₀), which keeps its upper
/// sum at 0 (a one-sided lower CUSUM), and Page–Hinkley is set for a decrease. Their series are the monitor's
/// (`byzsim_drift_*{detector="accuracy-cusum"|"accuracy-page-hinkley"}`), so rules, the
/// dashboard and `byzsim traffic` treat them as any detector; alerts are numbered by the
/// predictions served when the label arrived.
public struct FeedbackConfig: Sendable, Equatable {
  public var keep = 10_000
  public var window = 1000
  public var block = 50

  public init() {}

  static func decode(_ t: inout TableReader) throws -> FeedbackConfig {
    var f = FeedbackConfig()
    f.keep = try t.int("keep", default: f.keep) { (1...10_000_000).contains($0) ? nil : "1 to 10000000 predictions" }
    f.window = try t.int("window", default: f.window) { (10...1_000_000).contains($0) ? nil : "10 to 1000000 labels" }
    f.block = try t.int("block", default: f.block) { (1...100_000).contains($0) ? nil : "1 to 100000 labels" }
    guard f.window >= 2 * f.block else {
      throw t.error("window", "the burn-in window (\(f.window) labels) must hold at least two blocks of \(f.block)")
    }
    return f
  }
}

public final class Feedback: Sendable {
  public let config: FeedbackConfig
  let inputSize: Int
  let classes: Int

  /// A prediction kept for its label.
  struct Kept {
    let request: UInt64
    let inputs: [Float]
    let predicted: [Int]
    var labels: [Int]?
  }

  /// One labelled input, for retraining.
  public struct Labelled: Sendable {
    public let input: [Float]
    public let label: Int
    public let credential: String
  }

  struct State {
    var kept: [UInt64: Kept] = [:]
    var order: [UInt64] = []
    var head = 0
    var keptInputs = 0
    var outcomes: [Bool] = []
    var next = 0
    var burnIn: [Double] = []
    var blockSum = 0.0
    var blockCount = 0
    var cusum: CUSUM?
    var pageHinkley: PageHinkley?
    var labels = 0
    var firstAlert: [String: Int] = [:]
    var alerts: [String: Int] = [:]
    /// The labels count at each detector's last alarm (its alert holds for a window of labels).
    var lastAlarm: [String: Int] = [:]
    var statistic: [String: Double] = [:]
    var threshold: [String: Double] = [:]
    /// Labelled inputs not yet taken by the retrainer.
    var fresh: [Labelled] = []
  }
  let state = Mutex(State())

  struct Series: @unchecked Sendable {
    let labels: Counter
    let accuracy: Gauge
    let rejected: [String: Counter]
    let drift: [String: DriftSeries]
  }
  let series: Series
  static let detectors = ["accuracy-cusum", "accuracy-page-hinkley"]
  static let reasons = ["unknown-request", "already-labelled", "bad-body"]

  public init(config: FeedbackConfig, inputSize: Int, classes: Int, registry: PrometheusCollectorRegistry) {
    self.config = config
    self.inputSize = inputSize
    self.classes = classes
    series = Series(
      labels: registry.makeCounter(descriptor: .named("byzsim_feedback_labels_total", "True labels accepted through /v1/feedback.")),
      accuracy: registry.makeGauge(descriptor: .named("byzsim_feedback_accuracy", "Accuracy over the last [feedback] window labels.")),
      rejected: Dictionary(
        uniqueKeysWithValues: Self.reasons.map {
          (
            $0,
            registry.makeCounter(
              descriptor: .named("byzsim_feedback_rejected_total", "Feedback refused, by reason."), labels: [("reason", $0)])
          )
        }),
      drift: Dictionary(uniqueKeysWithValues: Self.detectors.map { ($0, DriftSeries(detector: $0, registry: registry)) }))
  }

  /// Keeps a served request for its label; the oldest go once `keep` predictions are held.
  func record(request: UInt64, inputs: [Float], predicted: [Int]) {
    state.withLock { s in
      s.kept[request] = Kept(request: request, inputs: inputs, predicted: predicted, labels: nil)
      s.order.append(request)
      s.keptInputs += predicted.count
      while s.keptInputs > config.keep, s.head < s.order.count {
        if let old = s.kept.removeValue(forKey: s.order[s.head]) { s.keptInputs -= old.predicted.count }
        s.head += 1
      }
      if s.head > 4096 && s.head * 2 > s.order.count {
        s.order.removeFirst(s.head)
        s.head = 0
      }
    }
  }

  public enum Outcome: Equatable {
    case accepted(correct: Int, of: Int)
    case refused(status: Int, reason: String)
  }

  /// `{"request": N, "labels": [k, ...]}` from credential `who`; `served` is the predictions
  /// served so far (what an alert is numbered by).
  func label(_ body: [UInt8], credential who: String, served: Int) -> Outcome {
    struct Body: Decodable {
      let request: UInt64
      let labels: [Int]
    }
    // Exactly the two keys (an unknown key is refused, not ignored), integers only (JSONDecoder
    // refuses true, 1.5 and strings for an Int).
    guard let keys = (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]).map({ Set($0.keys) }),
      keys == ["request", "labels"], let parsed = try? JSONDecoder().decode(Body.self, from: Data(body)), !parsed.labels.isEmpty
    else {
      series.rejected["bad-body"]!.increment()
      return .refused(status: 400, reason: "expected {\"request\": N, \"labels\": [class, ...]} with exactly these keys, integers only")
    }
    guard parsed.labels.allSatisfy({ (0..<classes).contains($0) }) else {
      series.rejected["bad-body"]!.increment()
      return .refused(status: 400, reason: "every label must be a class from 0 to \(classes - 1)")
    }
    let request = parsed.request, labels = parsed.labels
    let (result, alarmed): (Outcome, [String]) = state.withLock { s in
      guard var kept = s.kept[request] else {
        return (.refused(status: 404, reason: "request \(request) is unknown or no longer kept ([feedback] keep = \(config.keep))"), [])
      }
      guard kept.labels == nil else { return (.refused(status: 409, reason: "request \(request) is labelled already"), []) }
      guard labels.count == kept.predicted.count else {
        return (.refused(status: 400, reason: "request \(request) had \(kept.predicted.count) input(s); got \(labels.count) label(s)"), [])
      }
      kept.labels = labels
      s.kept[request] = kept
      var correct = 0
      var alarmed: [String] = []
      for (k, (label, predicted)) in zip(labels, kept.predicted).enumerated() {
        let ok = label == predicted
        if ok { correct += 1 }
        alarmed += observe(ok, served: served, in: &s)
        s.fresh.append(
          Labelled(input: Array(kept.inputs[(k * inputSize)..<((k + 1) * inputSize)]), label: label, credential: who))
      }
      s.labels += labels.count
      return (.accepted(correct: correct, of: labels.count), alarmed)
    }
    switch result {
    case .accepted(_, let n):
      series.labels.increment(by: Int64(n))
      for d in alarmed { series.drift[d]!.alerts.increment() }
      publish()
    case .refused(let status, _):
      series.rejected[status == 404 ? "unknown-request" : status == 409 ? "already-labelled" : "bad-body"]!.increment()
    }
    return result
  }

  /// One outcome; returns the detectors that alarmed on it.
  func observe(_ correct: Bool, served: Int, in s: inout State) -> [String] {
    let x = correct ? 1.0 : 0.0
    if s.outcomes.count < config.window {
      s.outcomes.append(correct)
    } else {
      s.outcomes[s.next] = correct
    }
    s.next = (s.next + 1) % config.window
    guard var cusum = s.cusum, var ph = s.pageHinkley else {
      s.burnIn.append(x)
      if s.burnIn.count == config.window {
        let mean = s.burnIn.reduce(0, +) / Double(s.burnIn.count)
        let blocks = stride(from: 0, to: s.burnIn.count - config.block + 1, by: config.block).map {
          s.burnIn[$0..<($0 + config.block)].reduce(0, +) / Double(config.block)
        }
        let spread = (blocks.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, blocks.count - 1))).squareRoot()
        // A floor keeps a perfect burn-in (σ = 0) from alarming at the first mistake.
        let sigma = max((mean * (1 - mean) / Double(config.block)).squareRoot(), spread, 0.01)
        s.cusum = CUSUM(target: mean, slack: sigma / 2, threshold: 5 * sigma)
        s.pageHinkley = PageHinkley(delta: sigma / 2, lambda: 5 * sigma, increase: false)
        s.threshold = ["accuracy-cusum": 5 * sigma, "accuracy-page-hinkley": 5 * sigma]
      }
      return []
    }
    s.blockSum += x
    s.blockCount += 1
    guard s.blockCount == config.block else { return [] }
    let mean = s.blockSum / Double(config.block)
    s.blockSum = 0
    s.blockCount = 0
    var alarmed: [String] = []
    for (name, alarm) in [("accuracy-cusum", cusum.add(min(mean, cusum.target))), ("accuracy-page-hinkley", ph.add(mean))] {
      s.statistic[name] = name == "accuracy-cusum" ? cusum.statistic : ph.statistic
      if alarm {
        s.alerts[name, default: 0] += 1
        alarmed.append(name)
        s.lastAlarm[name] = s.labels + 1
        if s.firstAlert[name] == nil { s.firstAlert[name] = served }
        if name == "accuracy-cusum" { cusum.reset() } else { ph.reset() }
      }
    }
    s.cusum = cusum
    s.pageHinkley = ph
    return alarmed
  }

  func publish() {
    let (accuracy, statistic, first, active) = state.withLock { s in
      (
        s.outcomes.isEmpty ? 0 : Double(s.outcomes.count { $0 }) / Double(s.outcomes.count), s.statistic, s.firstAlert,
        Set(Self.detectors.filter { alerting($0, s) })
      )
    }
    series.accuracy.set(accuracy)
    for d in Self.detectors {
      series.drift[d]!.statistic.set(statistic[d] ?? 0)
      series.drift[d]!.firstAlert.set(Double(first[d] ?? 0))
      series.drift[d]!.alert.set(active.contains(d) ? 1.0 : 0.0)
    }
  }

  /// An alarm's alert holds for a window of labels.
  func alerting(_ d: String, _ s: State) -> Bool { s.lastAlarm[d].map { s.labels - $0 < config.window } ?? false }

  /// The labelled inputs not yet taken (the retrainer's batch), oldest first.
  public func takeFresh() -> [Labelled] {
    state.withLock { s in
      defer { s.fresh = [] }
      return s.fresh
    }
  }

  /// The fresh labelled inputs if there are at least `count` (taken at once), else nil.
  func takeFresh(atLeast count: Int) -> [Labelled]? {
    state.withLock { s in
      guard s.fresh.count >= count else { return nil }
      defer { s.fresh = [] }
      return s.fresh
    }
  }

  /// What the dashboard shows: labels, accuracy over the window, and the two detectors' readings.
  public struct Snapshot: Sendable, Codable {
    public var labels: Int
    public var accuracy: Double?
    public var readings: [Monitor.Reading]
  }

  public func snapshot() -> Snapshot {
    state.withLock { s in
      Snapshot(
        labels: s.labels, accuracy: s.outcomes.isEmpty ? nil : Double(s.outcomes.count { $0 }) / Double(s.outcomes.count),
        readings: Self.detectors.map { d in
          let t = s.threshold[d] ?? 0, x = s.statistic[d] ?? 0
          return Monitor.Reading(
            detector: d, statistic: x, pValue: nil, threshold: t, level: WindowSettings.level(statistic: x, pValue: nil, threshold: t),
            alert: alerting(d, s), alerts: s.alerts[d] ?? 0, firstAlertPrediction: s.firstAlert[d])
        })
    }
  }
}
