import Data

/// What an ingestion detector is measured against: the samples a data attack changed.
public enum PoisonTruth {
  /// The indices of `poisoned` whose label or pixels differ from `clean` at the same index, and
  /// every index past `clean`'s end (samples an attack appended).
  public static func indices(clean: Dataset, poisoned: Dataset) -> Set<Int> {
    let d = clean.shape.size
    var out = Set<Int>()
    for i in 0..<poisoned.count {
      if i >= clean.count || poisoned.labels[i] != clean.labels[i] { out.insert(i); continue }
      for j in 0..<d where poisoned.features[i * d + j] != clean.features[i * d + j] {
        out.insert(i)
        break
      }
    }
    return out
  }
}

/// A detector's flags scored against the truth.
public struct DetectionScore: Sendable, Equatable, Codable {
  public var flagged: Int
  public var truePositives: Int
  public var poisoned: Int
  /// Of the flagged, the share truly poisoned (0 when nothing is flagged).
  public var precision: Double
  /// Of the poisoned, the share flagged (0 when nothing is poisoned).
  public var recall: Double
  public var f1: Double

  public init(flagged: Set<Int>, truth: Set<Int>) {
    self.flagged = flagged.count
    truePositives = flagged.intersection(truth).count
    poisoned = truth.count
    precision = flagged.isEmpty ? 0 : Double(truePositives) / Double(flagged.count)
    recall = truth.isEmpty ? 0 : Double(truePositives) / Double(truth.count)
    f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
  }
}

/// Rows of a flat row-major matrix grouped by class: the indices of each class's samples.
enum ClassRows {
  static func group(_ labels: [Int32], classes: Int) -> [[Int]] {
    var rows = [[Int]](repeating: [], count: classes)
    for (i, l) in labels.enumerated() where l >= 0 && Int(l) < classes { rows[Int(l)].append(i) }
    return rows
  }
}
