import Audit
import Foundation

/// Detection quality of a finished, audited run against the ground truth (truth.json), which only
/// the launcher and evaluation read: per evaluation round (added to metrics.jsonl as `detection`
/// and written to detections.csv) and overall (the summary's `detection`).
public struct DetectionSummary: Codable, Sendable, Equatable {
  public var malicious: [Int]
  @Nullable public var precision: Double?
  @Nullable public var recall: Double?
  @Nullable public var f1: Double?
  @Nullable public var falsePositiveRate: Double?
  /// Malicious worker id → first round flagged, numbered from 1 (null: never).
  public var roundsToFirstDetection: [String: Int?]
  /// Auditor → ROC AUC of its mean z over the run.
  public var auc: [String: Double?]

}

public enum DetectionReport {
  /// Nil when the run has no audit. Reads metrics.jsonl (the coordinator's verdicts, typed) and
  /// truth.json; writes detections.csv (one row per evaluation round: the flagged set and the
  /// detection figures), its one writer.
  public static func evaluate(_ run: RunDirectory) throws -> DetectionSummary? {
    let topology = try run.loadTopology()
    guard !topology.coordinator.auditors.isEmpty else { return nil }
    let truth = try JSONDecoder.snake.decode(Truth.self, from: Data(Files.read(run.truthFile)))
    let malicious = Set(truth.malicious)
    let workers = Array(0..<topology.workerCount)
    let lines = try run.loadMetrics()
    var flaggedByRound: [Set<Int>] = []
    var sums: [String: [Int: (Double, Int)]] = [:]
    var csv = "round,flagged,precision,recall,f1,false_positive_rate\n"
    func fmt(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "" }
    for m in lines {
      let flagged = Set(m.audit?.flagged ?? [])
      flaggedByRound.append(flagged)
      for (name, zs) in m.audit?.auditors ?? [:] {
        for (id, z) in zs {
          guard let w = Int(id) else { continue }; let s = sums[name, default: [:]][w] ?? (0, 0);
          sums[name, default: [:]][w] = (s.0 + z, s.1 + 1)
        }
      }
      if m.testAccuracy != nil {
        let c = DetectionMetrics.confusion(flagged: flagged, malicious: malicious, workers: workers)
        csv +=
          "\(m.round),\"\(flagged.sorted().map(String.init).joined(separator: " "))\",\(fmt(c.precision)),\(fmt(c.recall)),\(fmt(c.f1)),\(fmt(c.falsePositiveRate))\n"
      }
    }
    try Files.writeAtomically(Array(csv.utf8), to: (run.path as NSString).appendingPathComponent("detections.csv"))
    let final = DetectionMetrics.confusion(flagged: flaggedByRound.last ?? [], malicious: malicious, workers: workers)
    let first = DetectionMetrics.roundsToFirstDetection(flaggedByRound, malicious: malicious)
    var auc: [String: Double?] = [:]
    for (name, perWorker) in sums { auc[name] = DetectionMetrics.auc(perWorker.mapValues { $0.0 / Double($0.1) }, malicious: malicious) }
    return DetectionSummary(
      malicious: truth.malicious, precision: final.precision, recall: final.recall, f1: final.f1,
      falsePositiveRate: final.falsePositiveRate,
      roundsToFirstDetection: Dictionary(uniqueKeysWithValues: first.map { (String($0.key), $0.value.map { $0 + 1 }) }),
      auc: auc)
  }
}
