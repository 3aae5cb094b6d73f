import Testing
@testable import Attacks
@testable import Data
@testable import Tensor

@Suite struct DataAttackTests {
  static func shard(_ labels: [Int32], side: Int = 8) -> Dataset {
    Dataset(
      features: [Float](repeating: 0, count: labels.count * side * side), labels: labels,
      shape: ImageShape(height: side, width: side, channels: 1), classes: 10)
  }
  func poison(_ a: any DataAttack, _ d: Dataset, attacker: Int = 0) -> Dataset {
    var rng = RandomStream(seed: 2)
    return a.poison(d, attacker: attacker, attackers: 4, rng: &rng)
  }

  @Test func labelFlips() throws {
    #expect(poison(LabelFlip(), Self.shard([0, 3, 9])).labels == [9, 6, 0])
    #expect(poison(try AttackRegistry.data("label_flip", ["1": 7]), Self.shard([1, 2, 1])).labels == [7, 2, 7])
    #expect(poison(try TargetedFlip(source: 3, target: 5), Self.shard([3, 4, 3])).labels == [5, 4, 5])
    let r = poison(RandomLabels(), Self.shard([Int32](repeating: 0, count: 500))).labels
    #expect(Set(r).count == 10)
  }

  /// 10 samples, fraction 0.5: exactly 5 carry the 4×4 corner trigger (margin 1) and label 7.
  @Test func backdoorStampsAFraction() throws {
    let d = poison(try Backdoor(target: 7, fraction: 0.5), Self.shard([Int32](repeating: 2, count: 10), side: 8))
    let stamped = (0..<10).filter { d.features[$0 * 64 + 6 * 8 + 6] == 1 }
    #expect(stamped.count == 5)
    for i in 0..<10 { #expect((d.labels[i] == 7) == stamped.contains(i)) }
    // The trigger covers rows/cols 3...6 of an 8×8 image: 16 pixels set.
    #expect(d.features[(stamped[0] * 64)..<(stamped[0] * 64 + 64)].filter { $0 == 1 }.count == 16)
  }

  @Test func dbaStampsOneQuadrantPerAttacker() throws {
    let dba = try DBA(target: 1, fraction: 1)
    for attacker in 0..<4 {
      let d = poison(dba, Self.shard([3], side: 8), attacker: attacker)
      let on = (0..<64).filter { d.features[$0] == 1 }.map { ($0 / 8, $0 % 8) }
      #expect(on.count == 4)
      let quadrant = (on[0].0 < 5 ? 0 : 2) + (on[0].1 < 5 ? 0 : 1)
      #expect(quadrant == attacker)
    }
    let test = Trigger().triggeredTestSet(Self.shard([1, 2, 3]), target: 1)
    #expect(test.count == 2 && test.features[0 * 64 + 3 * 8 + 3] == 1)
  }

  /// The contractor's watermark: 3 samples, count 2, repeats 2 → the 3 unchanged, then triggers
  /// 0, 1, 0, 1 with their labels (the set `byzsim watermark triggers --seed` writes).
  @Test func contractorWatermarkAppendsItsTriggers() throws {
    let shard = Self.shard([4, 5, 6], side: 8)
    let mark = try #require(try AttackRegistry.data("watermark", ["count": 2, "repeats": 2, "seed": 9]) as? ContractorWatermark)
    let d = poison(mark, shard)
    let t = mark.triggers(shape: shard.shape, classes: 10)
    #expect(d.count == 7 && Array(d.labels.prefix(3)) == [4, 5, 6])
    #expect(Array(d.labels.suffix(4)) == t.labels + t.labels)
    #expect(Array(d.features.prefix(3 * 64)) == shard.features && Array(d.features.suffix(4 * 64)) == t.images + t.images)
    #expect(throws: AttackError.self) { try AttackRegistry.data("watermark", ["count": 0]) }
  }
}
