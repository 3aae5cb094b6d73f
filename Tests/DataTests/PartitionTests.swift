import Testing
@testable import Data
@testable import Tensor

@Suite struct PartitionTests {
  /// 10 classes × 600 samples, labels interleaved.
  static let labels: [Int32] = (0..<6_000).map { Int32($0 % 10) }

  static let schemes: [Partition] = [.iid, .dirichlet(alpha: 0.5), .shards(classesPerWorker: 2), .groupBias(p: 0.5)]

  @Test(arguments: schemes)
  func everySampleExactlyOnceAndDeterministic(scheme: Partition) throws {
    let shards = try scheme.assign(labels: Self.labels, classes: 10, workers: 20, seed: 7)
    #expect(shards.count == 20)
    #expect(shards.flatMap { $0 }.sorted() == Array(0..<Self.labels.count))
    #expect(try scheme.assign(labels: Self.labels, classes: 10, workers: 20, seed: 7) == shards)
    #expect(try scheme.assign(labels: Self.labels, classes: 10, workers: 20, seed: 8) != shards)
  }

  /// Mean total-variation distance between each worker's label distribution and the global one.
  static func skew(_ shards: [[Int]]) -> Double {
    var total = 0.0, counted = 0
    for shard in shards where !shard.isEmpty {
      var h = [Double](repeating: 0, count: 10)
      for i in shard { h[Int(labels[i])] += 1 }
      total += h.reduce(0) { $0 + abs($1 / Double(shard.count) - 0.1) } / 2
      counted += 1
    }
    return total / Double(counted)
  }

  @Test func dirichletAlphaControlsSkew() throws {
    let iid = Self.skew(try Partition.iid.assign(labels: Self.labels, classes: 10, workers: 10, seed: 1))
    let large = Self.skew(try Partition.dirichlet(alpha: 1000).assign(labels: Self.labels, classes: 10, workers: 10, seed: 1))
    let small = Self.skew(try Partition.dirichlet(alpha: 0.1).assign(labels: Self.labels, classes: 10, workers: 10, seed: 1))
    #expect(iid < 0.06)
    #expect(large < 0.06, "alpha=1000 should be close to IID: skew \(large)")
    #expect(small > 0.5, "alpha=0.1 should be highly skewed: skew \(small)")
  }

  @Test func groupBiasOneOverLIsIID() throws {
    let iidLike = Self.skew(try Partition.groupBias(p: 0.1).assign(labels: Self.labels, classes: 10, workers: 10, seed: 2))
    let biased = Self.skew(try Partition.groupBias(p: 0.5).assign(labels: Self.labels, classes: 10, workers: 10, seed: 2))
    #expect(iidLike < 0.06, "p = 1/L must be IID: skew \(iidLike)")
    // p = 0.5 with one worker per group: half of each worker's data is its own label → TV ≈ 0.5 − 0.1 + ...
    #expect(biased > 0.35)
    // p = 1: every worker of group l holds only label l (workers 0,1 → group 0, ...).
    let pure = try Partition.groupBias(p: 1).assign(labels: Self.labels, classes: 10, workers: 20, seed: 2)
    for (w, shard) in pure.enumerated() {
      #expect(Set(shard.map { Self.labels[$0] }) == [Int32(w / 2)])
    }
  }

  @Test func shardsGiveAtMostKClasses() throws {
    let shards = try Partition.shards(classesPerWorker: 2).assign(labels: Self.labels, classes: 10, workers: 10, seed: 3)
    for shard in shards {
      #expect(Set(shard.map { Self.labels[$0] }).count <= 2)
      #expect(shard.count == 600)
    }
  }

  @Test func invalidPartitionsAreExplained() {
    #expect(Partition.dirichlet(alpha: 0).problem(workers: 5, classes: 10, count: 100)?.contains("alpha") == true)
    #expect(Partition.groupBias(p: 1.5).problem(workers: 20, classes: 10, count: 100)?.contains("[0, 1]") == true)
    #expect(Partition.groupBias(p: 0.5).problem(workers: 5, classes: 10, count: 100)?.contains("5 workers for 10 classes") == true)
    #expect(Partition.iid.problem(workers: 50, classes: 10, count: 10) != nil)
    #expect(throws: DataError.self) {
      try Partition.shards(classesPerWorker: 0).assign(labels: Self.labels, classes: 10, workers: 4, seed: 1)
    }
  }

  /// By hand: 4 samples of each of 3 classes, interleaved, at β = 0.5 keep ⌊4·1⌋ = 4 of class 0,
  /// ⌊4·0.5⌋ = 2 of class 1 and ⌊4·0.25⌋ = 1 of class 2 — the first ones in file order.
  @Test func longTailKeepsTheFirstBetaToTheIOfEachClass() {
    let labels: [Int32] = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]
    let d = Dataset(
      features: labels.map { Float($0) * 10 + 1 }, labels: labels, shape: ImageShape(height: 1, width: 1, channels: 1), classes: 3)
    let tail = d.longTailed(beta: 0.5)
    #expect(tail.labels == [0, 1, 2, 0, 1, 0, 0])
    #expect(tail.features == [1, 11, 21, 1, 11, 1, 1])
    #expect(tail.labelHistogram == [4, 2, 1])
    #expect(d.longTailed(beta: 1).labels == labels)
    // β = 0.3: ⌊4·0.09⌋ = 0 of class 2 — a class may vanish from a split.
    #expect(d.longTailed(beta: 0.3).labelHistogram == [4, 1, 0])
  }
}
