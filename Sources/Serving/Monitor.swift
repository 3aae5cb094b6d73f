import Dispatch
import Drift
import Foundation
import Prometheus
import Synchronization

/// The drift monitor inside `byzsim serve` (`[monitor]`): every prediction's input, label and
/// confidence enter a sliding window and the stream detectors; every `every` predictions (once
/// the window is full) the window detectors compare it with the reference sample on a
/// background queue — the request path only copies. An evaluation that falls due while one
/// runs is not lost: the newest window is evaluated when the running one ends. Each detector's
/// statistic, p-value (where it has one), alert state, alerts and the prediction count at its
/// first alert are Prometheus series (`byzsim_drift_*{detector=…}`).
///
/// The detectors are `Sources/Drift`'s: per-feature KS with Bonferroni, MMD² (median heuristic,
/// permutation test), the largest per-feature PSI, χ² on the predicted labels, and CUSUM and
/// Page–Hinkley on the confidence (both with k = δ = σ/2 and h = λ = 5σ of the reference's
/// confidences; an alarm is counted, the detector restarts, and its alert state holds for one
/// window of predictions).
public final class Monitor: Sendable {
  public let config: MonitorConfig
  /// The reference sample (row- and column-major) and the served model's labels for it.
  let reference: WindowReference
  let inputSize: Int

  struct Window {
    var inputs: [[Float]] = []
    var labels: [Int] = []
    var next = 0
    var sinceRun = 0
    var predictions = 0
    var cusum: CUSUM
    var pageHinkley: PageHinkley
    var running = false
    /// An evaluation fell due while one was running: run again when it ends, on the newest window.
    var pending = false
    var firstAlert: [MonitorConfig.Detector: Int] = [:]
    /// The prediction count at each stream detector's last alarm (its alert holds for a window).
    var lastAlarm: [MonitorConfig.Detector: Int] = [:]
    /// Each detector's latest reading and the newest alerts, for the dashboard.
    var readings: [MonitorConfig.Detector: Reading] = [:]
    var alertLog: [AlertEvent] = []
  }

  /// A detector's latest reading. `level` puts every detector on one scale, alerting at 1:
  /// statistic / threshold (PSI, CUSUM, Page–Hinkley) or log p / log α (KS, MMD, χ²).
  public struct Reading: Sendable, Codable, Equatable {
    public var detector: String
    public var statistic: Double
    public var pValue: Double?
    public var threshold: Double
    public var level: Double
    public var alert: Bool
    public var alerts: Int
    public var firstAlertPrediction: Int?
  }

  public struct AlertEvent: Sendable, Codable, Equatable {
    public var detector: String
    public var prediction: Int
    public var time: Date
  }

  /// What the dashboard shows of the monitor: readings in the configured order, the newest
  /// alerts first (at most 50), the window's predicted-class counts.
  public struct Snapshot: Sendable, Codable {
    public var window: Int
    public var windowFill: Int
    public var readings: [Reading]
    public var alerts: [AlertEvent]
    public var windowClassCounts: [Int]
  }

  public func snapshot(classes: Int) -> Snapshot {
    window.withLock { w in
      var counts = [Int](repeating: 0, count: classes)
      for l in w.labels where l < classes { counts[l] += 1 }
      return Snapshot(
        window: config.window, windowFill: w.inputs.count,
        readings: config.detectors.map {
          w.readings[$0]
            ?? Reading(
              detector: $0.rawValue, statistic: 0, pValue: nil, threshold: threshold($0, w), level: 0, alert: false, alerts: 0,
              firstAlertPrediction: nil)
        },
        alerts: Array(w.alertLog.suffix(50).reversed()), windowClassCounts: counts)
    }
  }

  func threshold(_ d: MonitorConfig.Detector, _ w: Window) -> Double {
    switch d {
    case .ks, .mmd, .chi2: config.alpha
    case .psi: config.psiThreshold
    case .cusum: w.cusum.threshold
    case .pageHinkley: w.pageHinkley.lambda
    }
  }

  /// Records a reading (and an alert event when it alerts) under the window's lock.
  /// `at`: the prediction count the reading belongs to (a window's last prediction, or a
  /// stream detector's last alarm).
  func record(_ d: MonitorConfig.Detector, statistic: Double, p: Double?, alert: Bool, newAlerts: Int, at: Int, in w: inout Window) {
    let t = threshold(d, w)
    let level = WindowSettings.level(statistic: statistic, pValue: p, threshold: t)
    var r =
      w.readings[d]
      ?? Reading(
        detector: d.rawValue, statistic: 0, pValue: nil, threshold: t, level: 0, alert: false, alerts: 0, firstAlertPrediction: nil)
    r.statistic = statistic
    r.pValue = p
    r.threshold = t
    r.level = level
    r.alert = alert
    r.alerts += newAlerts
    r.firstAlertPrediction = w.firstAlert[d]
    w.readings[d] = r
    if newAlerts > 0 {
      w.alertLog.append(AlertEvent(detector: d.rawValue, prediction: at, time: Date()))
      if w.alertLog.count > 100 { w.alertLog.removeFirst(w.alertLog.count - 50) }
    }
  }
  let window: Mutex<Window>
  let queue = DispatchQueue(label: "byzsim.monitor")
  let gauges: [MonitorConfig.Detector: Gauges]
  let evaluations: Handle<Counter>
  let evaluated: Handle<Gauge>
  struct Handle<T>: @unchecked Sendable { let metric: T }

  struct Gauges: @unchecked Sendable {
    let drift: DriftSeries
    let pValue: Gauge?
  }

  public struct Invalid: Error, CustomStringConvertible {
    public let description: String
  }

  /// `probabilities` computes the served model's outputs for the reference inputs.
  public init(
    config: MonitorConfig, inputSize: Int, registry: PrometheusCollectorRegistry,
    probabilities: ([Float], Int) -> [[Double]]
  ) throws {
    let table: NumericTable
    do { table = try NumericTable.read(config.reference) } catch let e as NumericTable.Invalid {
      throw Invalid(description: "[monitor] reference: \(e.description)")
    }
    guard table.columns == inputSize else {
      throw Invalid(
        description: "[monitor] reference: \(config.reference) has \(table.columns) columns; the model takes \(inputSize) values")
    }
    guard table.rows.count >= 10 else { throw Invalid(description: "[monitor] reference: at least 10 rows, got \(table.rows.count)") }
    self.config = config
    self.inputSize = inputSize
    let p = probabilities(table.rows.flatMap { $0.map(Float.init) }, table.rows.count)
    reference = WindowReference(rows: table.rows, labels: p.map { row in Double(row.indices.max { row[$0] < row[$1] }!) })
    let confidences = p.map { $0.max()! }
    let cusum = CUSUM.fromReference(confidences)
    let sigma = cusum.threshold / 5
    window = Mutex(Window(cusum: cusum, pageHinkley: PageHinkley(delta: sigma / 2, lambda: max(5 * sigma, 1e-9))))
    var made: [MonitorConfig.Detector: Gauges] = [:]
    for d in config.detectors {
      let labels = [("detector", d.rawValue)]
      made[d] = Gauges(
        drift: DriftSeries(detector: d.rawValue, registry: registry),
        pValue: [.ks, .mmd, .chi2].contains(d)
          ? registry.makeGauge(descriptor: .named("byzsim_drift_p_value", "The drift detector's latest p-value."), labels: labels) : nil)
    }
    gauges = made
    evaluations = Handle(
      metric: registry.makeCounter(
        descriptor: .named("byzsim_drift_evaluations_total", "Times the window detectors compared the window with the reference.")))
    evaluated = Handle(
      metric: registry.makeGauge(
        descriptor: .named("byzsim_drift_evaluated_predictions", "Predictions served up to the window the last evaluation saw.")))
  }

  /// One request's inputs (rows of `inputSize`) and the model's probabilities for them.
  func observe(_ inputs: [Float], probabilities: [[Double]]) {
    var snapshot: (inputs: [[Float]], labels: [Int], predictions: Int)?
    var alarms: [MonitorConfig.Detector: Int] = [:]
    var stream: [(MonitorConfig.Detector, Double, Bool)] = []
    window.withLock { w in
      for (i, p) in probabilities.enumerated() {
        let label = p.indices.max { p[$0] < p[$1] }!
        let row = Array(inputs[(i * inputSize)..<((i + 1) * inputSize)])
        if w.inputs.count < config.window {
          w.inputs.append(row)
          w.labels.append(label)
        } else {
          w.inputs[w.next] = row
          w.labels[w.next] = label
        }
        w.next = (w.next + 1) % config.window
        w.predictions += 1
        w.sinceRun += 1
        let confidence = p[label]
        if config.detectors.contains(.cusum) && w.cusum.add(confidence) {
          w.cusum.reset()
          alarms[.cusum, default: 0] += 1
          w.lastAlarm[.cusum] = w.predictions
        }
        if config.detectors.contains(.pageHinkley) && w.pageHinkley.add(confidence) {
          w.pageHinkley.reset()
          alarms[.pageHinkley, default: 0] += 1
          w.lastAlarm[.pageHinkley] = w.predictions
        }
      }
      for (d, at) in w.lastAlarm where w.firstAlert[d] == nil { w.firstAlert[d] = at }
      for d in config.detectors where d == .cusum || d == .pageHinkley {
        let statistic = d == .cusum ? w.cusum.statistic : w.pageHinkley.statistic
        let active = w.lastAlarm[d].map { w.predictions - $0 < config.window } ?? false
        stream.append((d, statistic, active))
        record(d, statistic: statistic, p: nil, alert: active, newAlerts: alarms[d] ?? 0, at: w.lastAlarm[d] ?? w.predictions, in: &w)
      }
      if w.inputs.count == config.window && w.sinceRun >= config.every {
        w.sinceRun = 0
        if w.running {
          w.pending = true
        } else {
          w.running = true
          snapshot = (w.inputs, w.labels, w.predictions)
        }
      }
    }
    for (d, statistic, active) in stream {
      guard let g = gauges[d] else { continue }
      g.drift.statistic.set(statistic)
      g.drift.alert.set(active ? 1.0 : 0.0)
      if let n = alarms[d] { g.drift.alerts.increment(by: Int64(n)) }
    }
    publishFirstAlerts()
    if let snapshot { schedule(snapshot) }
  }

  /// Evaluates `snapshot` on the background queue, then any evaluation that fell due meanwhile.
  func schedule(_ snapshot: (inputs: [[Float]], labels: [Int], predictions: Int)) {
    queue.async { [self] in
      runWindow(snapshot.inputs, snapshot.labels, at: snapshot.predictions)
      evaluated.metric.set(Double(snapshot.predictions))
      let next: (inputs: [[Float]], labels: [Int], predictions: Int)? = window.withLock { w in
        guard w.pending else {
          w.running = false
          return nil
        }
        w.pending = false
        return (w.inputs, w.labels, w.predictions)
      }
      if let next { schedule(next) }
    }
  }

  /// Runs the window detectors now (the background queue's work; tests call it directly).
  func runWindow(_ inputs: [[Float]], _ labels: [Int], at predictions: Int) {
    let current = inputs.map { $0.map(Double.init) }
    let settings = WindowSettings(alpha: config.alpha, psiThreshold: config.psiThreshold, mmdPermutations: config.mmdPermutations)
    let results: [(MonitorConfig.Detector, Double, Double?, Bool)] = config.detectors.compactMap { d in
      guard let w = WindowDetector(rawValue: d.rawValue) else { return nil }  // cusum and page-hinkley run per prediction
      let r = reference.evaluate(w, rows: current, labels: labels.map(Double.init), settings: settings)
      return (d, r.statistic, r.pValue, r.alert)
    }
    window.withLock { w in
      for (d, _, _, alert) in results where alert && w.firstAlert[d] == nil { w.firstAlert[d] = predictions }
      for (d, statistic, p, alert) in results {
        record(d, statistic: statistic, p: p, alert: alert, newAlerts: alert ? 1 : 0, at: predictions, in: &w)
      }
    }
    defer { evaluations.metric.increment() }
    for (d, statistic, p, alert) in results {
      guard let g = gauges[d] else { continue }
      g.drift.statistic.set(statistic)
      if let p { g.pValue?.set(p) }
      g.drift.alert.set(alert ? 1.0 : 0.0)
      if alert { g.drift.alerts.increment() }
    }
    publishFirstAlerts()
  }

  func publishFirstAlerts() {
    let first = window.withLock { $0.firstAlert }
    for (d, n) in first { gauges[d]?.drift.firstAlert.set(Double(n)) }
  }

  /// Waits until queued window runs are done (for tests and shutdown).
  public func drain() { queue.sync {} }
}

/// One drift detector's series. The monitor's window detectors and the feedback's accuracy
/// detectors fill the same families, labelled by detector, so they are declared once here.
struct DriftSeries: @unchecked Sendable {
  let statistic: Gauge
  let alert: Gauge
  let alerts: Counter
  let firstAlert: Gauge

  init(detector: String, registry: PrometheusCollectorRegistry) {
    let labels = [("detector", detector)]
    statistic = registry.makeGauge(descriptor: .named("byzsim_drift_statistic", "The drift detector's latest statistic."), labels: labels)
    alert = registry.makeGauge(descriptor: .named("byzsim_drift_alert", "1 while the detector signals drift."), labels: labels)
    alerts = registry.makeCounter(descriptor: .named("byzsim_drift_alerts_total", "Alerts raised by the detector."), labels: labels)
    firstAlert = registry.makeGauge(
      descriptor: .named("byzsim_drift_first_alert_prediction", "Predictions served when the detector first alerted (0: never)."),
      labels: labels)
  }
}
