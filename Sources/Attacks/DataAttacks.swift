import Data
import Tensor
import Watermark

/// A data attack: transforms a malicious worker's shard before it trains honestly on it.
public protocol DataAttack: Sendable {
  var name: String { get }
  /// Whether the attack writes pixels (a trigger patch, trigger images): refused on tabular data.
  var needsImages: Bool { get }
  /// - attacker: this worker's index among the malicious workers with the same attack (0-based).
  func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset
}

extension DataAttack {
  public var needsImages: Bool { false }
}

/// Label flipping (Fang et al. 2020): l → L − 1 − l for every sample, or a user-given mapping
/// (labels not in the mapping are kept).
///
/// Worked example (L = 10): labels [0, 3, 9] → [9, 6, 0].
public struct LabelFlip: DataAttack {
  public let name = "label_flip"
  public let mapping: [Int: Int]?
  public init(mapping: [Int: Int]? = nil) { self.mapping = mapping }
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    var d = shard
    d.labels = d.labels.map { l in Int32(mapping.map { $0[Int(l)] ?? Int(l) } ?? (d.classes - 1 - Int(l))) }
    return d
  }
}

/// Targeted label flipping: samples of class `source` are relabelled `target`; the rest is kept.
public struct TargetedFlip: DataAttack {
  public let name = "targeted_flip"
  public let source: Int, target: Int
  public init(source: Int, target: Int) throws {
    guard source != target else { throw AttackError("targeted_flip needs source != target: both are \(source)") }
    self.source = source; self.target = target
  }
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    var d = shard
    d.labels = d.labels.map { Int($0) == source ? Int32(target) : $0 }
    return d
  }
}

/// Random labels: every label replaced by a uniformly random class (seeded).
public struct RandomLabels: DataAttack {
  public let name = "random_labels"
  public init() {}
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    var d = shard
    d.labels = d.labels.map { _ in Int32(rng.nextInt(below: d.classes)) }
    return d
  }
}

/// A pixel-pattern trigger: a white `size`×`size` square whose bottom-right corner sits `margin`
/// pixels from the image's bottom-right corner (BadNets' corner pattern). For DBA it splits into
/// four parts, the square's quadrants.
public struct Trigger: Sendable, Equatable, Codable {
  public var size: Int = 4
  public var margin: Int = 1

  public init(size: Int = 4, margin: Int = 1) { self.size = size; self.margin = margin }

  /// Pixel (row, col) positions of the whole trigger, or of quadrant `part` (0...3).
  public func pixels(shape: ImageShape, part: Int? = nil) -> [(Int, Int)] {
    let top = shape.height - margin - size, left = shape.width - margin - size
    var out: [(Int, Int)] = []
    for r in 0..<size {
      for c in 0..<size {
        if let part {
          let q = (r < size / 2 ? 0 : 2) + (c < size / 2 ? 0 : 1)
          if q != part { continue }
        }
        out.append((top + r, left + c))
      }
    }
    return out
  }

  /// Sets the trigger's pixels to 1 (all channels) in sample `i` of `d`.
  public func stamp(_ d: inout Dataset, sample i: Int, part: Int? = nil) {
    let s = d.shape
    for (r, c) in pixels(shape: s, part: part) {
      for ch in 0..<s.channels { d.features[i * s.size + (r * s.width + c) * s.channels + ch] = 1 }
    }
  }

  /// The test images whose true label is not `target`, triggered (for the attack success rate).
  public func triggeredTestSet(_ test: Dataset, target: Int) -> Dataset {
    var d = test.subset((0..<test.count).filter { Int(test.labels[$0]) != target })
    for i in 0..<d.count { stamp(&d, sample: i) }
    return d
  }
}

/// BadNets-style backdoor (Gu, Dolan-Gavitt & Garg 2017): a `fraction` of the shard (chosen at
/// random) is stamped with the trigger and relabelled `target`.
public struct Backdoor: DataAttack {
  public var needsImages: Bool { true }
  public let name = "backdoor"
  public let target: Int, fraction: Double, trigger: Trigger
  public init(target: Int = 0, fraction: Double = 0.5, trigger: Trigger = Trigger()) throws {
    guard fraction > 0, fraction <= 1 else { throw AttackError("fraction must be in (0, 1] for the backdoor: got \(fraction)") }
    guard target >= 0 else { throw AttackError("target must be a class index for the backdoor: got \(target)") }
    self.target = target; self.fraction = fraction; self.trigger = trigger
  }
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    var d = shard
    let k = Int((fraction * Double(d.count)).rounded())
    for i in rng.permutation(d.count).prefix(k) {
      trigger.stamp(&d, sample: i, part: partFor(attacker))
      d.labels[i] = Int32(target)
    }
    return d
  }
  func partFor(_ attacker: Int) -> Int? { nil }
}

/// Distributed backdoor attack, DBA (Xie, Huang, Chen & Li 2020, ICLR): the global trigger is
/// split into 4 local parts (the square's quadrants); attacker k stamps only part k mod 4 on its
/// poisoned samples. The test-time trigger is the whole square.
public struct DBA: DataAttack {
  public var needsImages: Bool { true }
  public let name = "dba"
  let inner: Backdoor
  public init(target: Int = 0, fraction: Double = 0.5, trigger: Trigger = Trigger()) throws {
    inner = try Backdoor(target: target, fraction: fraction, trigger: trigger)
  }
  public var target: Int { inner.target }
  public var trigger: Trigger { inner.trigger }
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    var d = shard
    let k = Int((inner.fraction * Double(d.count)).rounded())
    for i in rng.permutation(d.count).prefix(k) {
      inner.trigger.stamp(&d, sample: i, part: attacker % 4)
      d.labels[i] = Int32(inner.target)
    }
    return d
  }
}

/// A contractor's watermark (Adi et al. 2018, "Turning Your Weakness Into a Strength", the
/// trigger-set embedding of `Watermark.TriggerSet`, planted by one federated worker rather than
/// by the model's owner): the worker appends `count` seeded abstract trigger images with random
/// labels to its shard, `repeats` times, so the global model learns them; it can later claim the
/// model with `byzsim watermark triggers --count N --seed S` and `byzsim watermark verify`. Its
/// honest data stays as it is (no label is changed).
///
/// Worked example: a shard of 3 samples with count = 2, repeats = 2 becomes 7 samples — the 3,
/// then triggers 0, 1, 0, 1 with their labels.
public struct ContractorWatermark: DataAttack {
  public var needsImages: Bool { true }
  public let name = "watermark"
  public let count: Int
  public let repeats: Int
  public let seed: UInt64
  public init(count: Int, repeats: Int, seed: UInt64) {
    self.count = count; self.repeats = repeats; self.seed = seed
  }
  /// The trigger set for images of `shape` in `classes` classes (what `byzsim watermark triggers` writes).
  public func triggers(shape: ImageShape, classes: Int) -> TriggerSet {
    TriggerSet.generate(count: count, shape: shape, classes: classes, seed: seed)
  }
  public func poison(_ shard: Dataset, attacker: Int, attackers: Int, rng: inout RandomStream) -> Dataset {
    triggers(shape: shard.shape, classes: shard.classes).embedded(in: shard, repeats: repeats)
  }
}

/// Where a targeted data attack's success is measured: the share of this set the model gives
/// its labels. Backdoor and DBA: the whole trigger on the test images whose label is not the
/// target, labelled the target; targeted flip: the source class's test images, labelled the
/// target; a contractor's watermark: its trigger set with its labels. Nil for untargeted attacks.
public enum AttackSuccess {
  public static func testSet(for attack: any DataAttack, test: Dataset) -> Dataset? {
    if let w = attack as? ContractorWatermark {
      let t = w.triggers(shape: test.shape, classes: test.classes)
      return Dataset(features: t.images, labels: t.labels, shape: test.shape, classes: test.classes)
    }
    var d: Dataset
    let target: Int
    if let b = attack as? Backdoor {
      d = b.trigger.triggeredTestSet(test, target: b.target); target = b.target
    } else if let b = attack as? DBA {
      d = b.trigger.triggeredTestSet(test, target: b.target); target = b.target
    } else if let t = attack as? TargetedFlip {
      d = test.subset((0..<test.count).filter { Int(test.labels[$0]) == t.source }); target = t.target
    } else {
      return nil
    }
    d.labels = [Int32](repeating: Int32(target), count: d.count)
    return d
  }
}
