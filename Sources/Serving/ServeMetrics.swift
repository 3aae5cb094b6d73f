import Prometheus

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

  func request(route: String, role: String, status: Int, duration: Duration) {
    registry.makeCounter(
      name: "byzsim_serve_requests_total", labels: [("route", route), ("role", role), ("status", String(status))],
      help: "Requests answered, by route, role and HTTP status."
    ).increment()
    registry.makeDurationHistogram(
      name: "byzsim_serve_request_duration_seconds", labels: [("route", route)], buckets: Self.buckets,
      help: "Time from a request's arrival to its answer."
    ).record(duration)
  }

  func predictions(byClass counts: [Int]) {
    for (label, n) in counts.enumerated() where n > 0 {
      registry.makeCounter(
        name: "byzsim_serve_predictions_total", labels: [("class", String(label))], help: "Predictions served, by class."
      )
      .increment(by: Int64(n))
    }
  }

  func budget(credential: String, remaining: Int) {
    registry.makeGauge(name: "byzsim_serve_budget_remaining", labels: [("credential", credential)], help: "Predictions left in a budget.")
      .set(Double(remaining))
  }

  public func text() -> [UInt8] { registry.emitToBuffer() }
}
