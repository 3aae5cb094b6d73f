import Audit
import Foundation

/// Detection quality of a finished, audited run against the ground truth (truth.json), which only
/// the launcher and evaluation read: per evaluation round (added to metrics.jsonl as `detection`
/// and written to detections.csv) and overall (the summary's `detection`).
public struct DetectionSummary: Codable, Sendable {
  public var malicious: [Int]
  public var precision: Double?
  public var recall: Double?
  public var f1: Double?
  public var falsePositiveRate: Double?
  /// Malicious worker id → first round flagged (null: never).
  public var roundsToFirstDetection: [String: Int?]
  /// Auditor → ROC AUC of its mean z over the run.
  public var auc: [String: Double?]

  enum CodingKeys: String, CodingKey { case malicious, precision, recall, f1, falsePositiveRate, roundsToFirstDetection, auc }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(malicious, forKey: .malicious); try c.encode(precision, forKey: .precision)
    try c.encode(recall, forKey: .recall); try c.encode(f1, forKey: .f1)
    try c.encode(falsePositiveRate, forKey: .falsePositiveRate)
    try c.encode(roundsToFirstDetection, forKey: .roundsToFirstDetection); try c.encode(auc, forKey: .auc)
  }
}

public enum DetectionReport {
  /// Nil when the run has no audit. Rewrites metrics.jsonl (atomically) and writes detections.csv.
  public static func evaluate(_ run: RunDirectory) throws -> DetectionSummary? {
    let topology = try run.loadTopology()
    guard !topology.coordinator.auditors.isEmpty else { return nil }
    let truth = try JSONDecoder.snake.decode(Truth.self, from: Data(Files.read(run.truthFile)))
    let malicious = Set(truth.malicious)
    let workers = Array(0..<topology.workerCount)
    let text = try String(contentsOfFile: run.metricsFile, encoding: .utf8)
    var lines: [[String: Any]] = text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    var flaggedByRound: [Set<Int>] = []
    var sums: [String: [Int: (Double, Int)]] = [:]
    var csv = "round,flagged,precision,recall,f1,false_positive_rate\n"
    func fmt(_ v: Double?) -> String { v.map { String(format: "%.6f", $0) } ?? "" }
    for k in lines.indices {
      let audit = lines[k]["audit"] as? [String: Any]
      let flagged = Set((audit?["flagged"] as? [Int]) ?? [])
      flaggedByRound.append(flagged)
      for (name, zs) in (audit?["auditors"] as? [String: [String: Double]]) ?? [:] {
        for (id, z) in zs { let w = Int(id)!; let s = sums[name, default: [:]][w] ?? (0, 0); sums[name, default: [:]][w] = (s.0 + z, s.1 + 1) }
      }
      if lines[k]["test_accuracy"] is Double {
        let c = DetectionMetrics.confusion(flagged: flagged, malicious: malicious, workers: workers)
        lines[k]["detection"] = ["precision": c.precision as Any, "recall": c.recall as Any, "f1": c.f1 as Any,
                                 "false_positive_rate": c.falsePositiveRate as Any].mapValues { $0 is Double ? $0 : NSNull() }
        csv += "\(lines[k]["round"]!),\"\(flagged.sorted().map(String.init).joined(separator: " "))\",\(fmt(c.precision)),\(fmt(c.recall)),\(fmt(c.f1)),\(fmt(c.falsePositiveRate))\n"
      }
    }
    var out = [UInt8]()
    for l in lines { out += Array(try JSONSerialization.data(withJSONObject: l, options: [.sortedKeys])) + [0x0A] }
    try Files.writeAtomically(out, to: run.metricsFile)
    try Files.writeAtomically(Array(csv.utf8), to: (run.path as NSString).appendingPathComponent("detections.csv"))
    let final = DetectionMetrics.confusion(flagged: flaggedByRound.last ?? [], malicious: malicious, workers: workers)
    let first = DetectionMetrics.roundsToFirstDetection(flaggedByRound, malicious: malicious)
    var auc: [String: Double?] = [:]
    for (name, perWorker) in sums { auc[name] = DetectionMetrics.auc(perWorker.mapValues { $0.0 / Double($0.1) }, malicious: malicious) }
    return DetectionSummary(malicious: truth.malicious, precision: final.precision, recall: final.recall, f1: final.f1,
                            falsePositiveRate: final.falsePositiveRate,
                            roundsToFirstDetection: Dictionary(uniqueKeysWithValues: first.map { (String($0.key), $0.value) }),
                            auc: auc)
  }
}
