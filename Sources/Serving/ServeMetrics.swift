import Prometheus
import Synchronization

/// The server's metrics in Prometheus's text format (swift-prometheus): requests by route, role
/// and status; latency by route; predictions by class; budget left by credential. No label
/// carries anything of an input.
public final class ServeMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()
  static let buckets: [Duration] = [
    .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
    .milliseconds(10), .milliseconds(25), .milliseconds(100), .seconds(1),
  ]

  public init() {}

  /// The series of one (route, role, status), made once (the registry's own look-up allocates).
  struct Series: @unchecked Sendable {
    let requests: Counter
    let latency: DurationHistogram
  }
  private let series = Mutex<[String: Series]>([:])

  func request(route: String, role: String, status: Int, duration: Duration) {
    let key = "\(route)|\(role)|\(status)"
    let s =
      series.withLock { $0[key] }
      ?? {
        let made = Series(
          requests: registry.makeCounter(
            descriptor: .named("byzsim_serve_requests_total", "Requests answered, by route, role and HTTP status."),
            labels: [("route", route), ("role", role), ("status", String(status))]),
          latency: registry.makeDurationHistogram(
            descriptor: .named("byzsim_serve_request_duration_seconds", "Time from a request's arrival to its answer."),
            labels: [("route", route)], buckets: Self.buckets))
        series.withLock { $0[key] = made }
        return made
      }()
    s.requests.increment()
    s.latency.record(duration)
  }

  struct Handle<T>: @unchecked Sendable { let metric: T }
  private let classCounters = Mutex<[Int: Handle<Counter>]>([:])
  private let budgetGauges = Mutex<[String: Handle<Gauge>]>([:])

  func predictions(byClass counts: [Int]) {
    for (label, n) in counts.enumerated() where n > 0 {
      let counter =
        classCounters.withLock { $0[label] }
        ?? {
          let made = Handle(
            metric: registry.makeCounter(
              descriptor: .named("byzsim_serve_predictions_total", "Predictions served, by class."), labels: [("class", String(label))]))
          classCounters.withLock { $0[label] = made }
          return made
        }()
      counter.metric.increment(by: Int64(n))
    }
  }

  func budget(credential: String, remaining: Int) {
    let gauge =
      budgetGauges.withLock { $0[credential] }
      ?? {
        let made = Handle(
          metric: registry.makeGauge(
            descriptor: .named("byzsim_serve_budget_remaining", "Predictions left in a budget."), labels: [("credential", credential)]))
        budgetGauges.withLock { $0[credential] = made }
        return made
      }()
    gauge.metric.set(Double(remaining))
  }

  public func text() -> [UInt8] { registry.emitToBuffer() }
}

extension MetricNameDescriptor {
  /// A metric named in full: swift-prometheus composes a descriptor's name from parts
  /// (namespace_subsystem_metric_unit, empty parts left out), here the one part.
  static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
  }
}
