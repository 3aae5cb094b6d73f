import Dispatch
import Drift
import Foundation
import Prometheus
import Runtime
import Synchronization

/// `[query_audit]`: does a caller's stream of queries look like the data the model serves? Model
/// extraction (random or Jacobian-augmented queries, Papernot et al. 2017; Tramèr et al. 2016's
/// equation solving) and trigger queries to a backdoored model both ask things the data never
/// holds. Each credential's last `window` inputs are compared with a reference sample every
/// `every` of its predictions by a window test (per-pixel KS with Bonferroni, or MMD² with a
/// permutation test); below `alpha` the credential is flagged — PRADA's idea (Juuti et al. 2019:
/// a thief's queries are distributed unlike a user's), with the drift monitor's tests instead of
/// PRADA's distance statistic. With `action = "refuse"` a flagged credential's predictions are
/// refused (403) from then on — its test runs in the request that completes the window, so the
/// next request is already refused; with "flag" they are only counted, and the tests run on a
/// background queue. A credential's flag is published as `byzsim_query_audit_flagged{credential}`.
public struct QueryAuditConfig: Sendable, Equatable {
  public enum Action: String, Sendable, CaseIterable { case flag, refuse }
  public var reference: String
  public var window = 100
  public var every = 50
  public var alpha = 0.01
  public var detector = WindowDetector.ks
  public var mmdPermutations = 200
  public var action = Action.flag

  public init(reference: String) { self.reference = reference }

  static func decode(_ t: inout TableReader) throws -> QueryAuditConfig {
    var q = QueryAuditConfig(
      reference: try t.string("reference", default: nil) { $0.isEmpty ? "a CSV file of in-distribution inputs" : nil })
    q.window = try t.int("window", default: q.window) { (10...100_000).contains($0) ? nil : "10 to 100000 queries" }
    q.every = try t.int("every", default: q.every) { (1...1_000_000).contains($0) ? nil : "1 to 1000000 queries" }
    q.alpha = try t.double("alpha", default: q.alpha) { $0 > 0 && $0 < 1 ? nil : "a level in (0, 1)" }
    q.mmdPermutations = try t.int("mmd_permutations", default: q.mmdPermutations) { (1...10_000).contains($0) ? nil : "1 to 10000" }
    let detector = try t.string("detector", default: "ks") { $0 == "ks" || $0 == "mmd" ? nil : "ks or mmd" }
    q.detector = WindowDetector(rawValue: detector)!
    let actions = Action.allCases.map(\.rawValue)
    q.action = Action(rawValue: try t.string("action", default: "flag") { actions.contains($0) ? nil : "flag or refuse" })!
    if q.detector == .mmd && 1 / Double(q.mmdPermutations + 1) >= q.alpha {
      throw t.error("mmd_permutations", "\(q.mmdPermutations) permutations cannot give p < alpha = \(q.alpha)")
    }
    return q
  }
}

public final class QueryAuditor: Sendable {
  public let config: QueryAuditConfig
  let reference: WindowReference
  let inputSize: Int
  let registry: PrometheusCollectorRegistry
  let queue = DispatchQueue(label: "byzsim.query-audit")

  struct Caller {
    var inputs: [[Double]] = []
    var next = 0
    var queries = 0
    var sinceRun = 0
    var running = false
    var statistic = 0.0
    var pValue: Double?
    var flagged = false
    var flaggedAt: Int?
  }
  let callers = Mutex<[String: Caller]>([:])
  struct Gauge1: @unchecked Sendable { let gauge: Gauge }
  let gauges = Mutex<[String: Gauge1]>([:])

  public struct Invalid: Error, CustomStringConvertible { public let description: String }

  public init(config: QueryAuditConfig, inputSize: Int, registry: PrometheusCollectorRegistry) throws {
    let table: NumericTable
    do { table = try NumericTable.read(config.reference) } catch let e as NumericTable.Invalid {
      throw Invalid(description: "[query_audit] reference: \(e.description)")
    }
    guard table.columns == inputSize else {
      throw Invalid(description: "[query_audit] reference: \(config.reference) has \(table.columns) columns; the model takes \(inputSize)")
    }
    guard table.rows.count >= 10 else { throw Invalid(description: "[query_audit] reference: at least 10 rows, got \(table.rows.count)") }
    self.config = config
    self.inputSize = inputSize
    self.registry = registry
    reference = WindowReference(rows: table.rows, labels: [Double](repeating: 0, count: table.rows.count))
  }

  /// Whether `credential` is flagged and the action refuses it.
  func refuses(_ credential: String) -> Bool {
    config.action == .refuse && callers.withLock { $0[credential]?.flagged ?? false }
  }

  /// One request's inputs from `credential`.
  func observe(_ credential: String, inputs: [Float]) {
    let n = inputs.count / inputSize
    let snapshot: (rows: [[Double]], at: Int)? = callers.withLock { all in
      var c = all[credential] ?? Caller()
      for i in 0..<n {
        let row = inputs[(i * inputSize)..<((i + 1) * inputSize)].map(Double.init)
        if c.inputs.count < config.window { c.inputs.append(row) } else { c.inputs[c.next] = row }
        c.next = (c.next + 1) % config.window
        c.queries += 1
        c.sinceRun += 1
      }
      var take: (rows: [[Double]], at: Int)?
      if c.inputs.count == config.window && c.sinceRun >= config.every && !c.running {
        c.sinceRun = 0
        c.running = true
        take = (c.inputs, c.queries)
      }
      all[credential] = c
      return take
    }
    guard let snapshot else { return }
    // Refusing is a control, not a report: its test runs in the request that completes the
    // window, so the flag holds from the very next request (no race with a fast caller).
    if config.action == .refuse {
      evaluate(credential, snapshot.rows, at: snapshot.at)
    } else {
      queue.async { [self] in evaluate(credential, snapshot.rows, at: snapshot.at) }
    }
  }

  /// Tests the window `snapshot`, taken when the credential had made `at` queries (the figure a
  /// flag records, however late a queued test runs).
  func evaluate(_ credential: String, _ snapshot: [[Double]], at: Int) {
    let r = reference.evaluate(
      config.detector, rows: snapshot, labels: [Double](repeating: 0, count: snapshot.count),
      settings: WindowSettings(alpha: config.alpha, mmdPermutations: config.mmdPermutations))
    let flagged = callers.withLock { all -> Bool in
      var c = all[credential]!
      c.running = false
      c.statistic = r.statistic
      c.pValue = r.pValue
      if r.alert && !c.flagged {
        c.flagged = true
        c.flaggedAt = at
      }
      all[credential] = c
      return c.flagged
    }
    gauge(credential).gauge.set(flagged ? 1.0 : 0.0)
  }

  func gauge(_ credential: String) -> Gauge1 {
    if let g = gauges.withLock({ $0[credential] }) { return g }
    let made = Gauge1(
      gauge: registry.makeGauge(
        descriptor: .named("byzsim_query_audit_flagged", "1 once the query auditor finds the credential's queries unlike the data."),
        labels: [("credential", credential)]))
    gauges.withLock { $0[credential] = made }
    return made
  }

  /// Waits for the queued tests (tests and shutdown).
  public func drain() { queue.sync {} }

  public struct Entry: Sendable, Codable {
    public var credential: String
    public var queries: Int
    public var statistic: Double
    public var pValue: Double?
    public var flagged: Bool
    public var flaggedAtQuery: Int?
  }

  public func snapshot() -> [Entry] {
    callers.withLock { all in
      all.keys.sorted().map { k in
        let c = all[k]!
        return Entry(
          credential: k, queries: c.queries, statistic: c.statistic, pValue: c.pValue, flagged: c.flagged, flaggedAtQuery: c.flaggedAt)
      }
    }
  }
}
