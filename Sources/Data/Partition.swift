import Tensor

/// How a training set is split among workers. Every scheme is deterministic from the seed,
/// and every sample lands in exactly one shard.
public enum Partition: Sendable, Equatable, Codable, CustomStringConvertible {
  /// Shuffle, then cut into near-equal contiguous parts.
  case iid
  /// Per class, the class's samples are divided among workers in proportions drawn from
  /// Dirichlet(α, …, α) (Hsu et al. 2019). Large α ≈ IID; small α gives each worker few classes.
  /// Some workers may receive no sample at all when α is very small.
  case dirichlet(alpha: Double)
  /// McMahan et al. 2017's pathological non-IID split: sort by label, cut into
  /// workers·k equal shards, give each worker k random shards (so at most k classes each,
  /// usually exactly k).
  case shards(classesPerWorker: Int)
  /// Fang et al. 2020's group bias: workers are divided evenly into L = classes groups; a
  /// sample of label l goes to group l with probability p, otherwise to one of the other
  /// L−1 groups uniformly; within the group, to a uniformly random worker.
  /// p = 1/L is IID; p = 1 puts every label in its own group.
  case groupBias(p: Double)

  public var description: String {
    switch self {
    case .iid: return "iid"
    case let .dirichlet(a): return "dirichlet(alpha=\(a))"
    case let .shards(k): return "shards(classes_per_worker=\(k))"
    case let .groupBias(p): return "group_bias(p=\(p))"
    }
  }

  /// Why this partition cannot split `count` samples of `classes` classes among `workers`, or nil.
  public func problem(workers: Int, classes: Int, count: Int) -> String? {
    if workers < 1 { return "a partition needs at least 1 worker: got \(workers)" }
    if count < workers { return "cannot give \(workers) workers a sample each from only \(count) samples" }
    switch self {
    case .iid: return nil
    case let .dirichlet(a):
      return a > 0 && a.isFinite ? nil : "Dirichlet alpha must be a positive number: got \(a)"
    case let .shards(k):
      if k < 1 { return "shards needs classes_per_worker >= 1: got \(k)" }
      if workers * k > count { return "shards needs workers·k <= samples: got \(workers)·\(k) > \(count)" }
      return nil
    case let .groupBias(p):
      if !(p >= 0 && p <= 1) { return "group bias p must be in [0, 1]: got \(p)" }
      if workers < classes {
        return "group bias needs at least one worker per group (one group per class): got \(workers) workers for \(classes) classes"
      }
      return nil
    }
  }

  /// The sample indices of each worker's shard (ascending within a shard).
  public func assign(labels: [Int32], classes: Int, workers: Int, seed: UInt64) throws -> [[Int]] {
    if let problem = problem(workers: workers, classes: classes, count: labels.count) {
      throw DataError.invalidPartition(problem)
    }
    var rng = RandomStream(seed: seed, purpose: .partition)
    var shards = [[Int]](repeating: [], count: workers)
    let n = labels.count
    switch self {
    case .iid:
      let order = rng.permutation(n)
      for w in 0..<workers {
        shards[w] = Array(order[(w * n / workers)..<((w + 1) * n / workers)])
      }
    case let .dirichlet(alpha):
      for c in 0..<classes {
        var members = (0..<n).filter { labels[$0] == Int32(c) }
        rng.shuffle(&members)
        let proportions = rng.nextDirichlet(alpha: alpha, count: workers)
        var cumulative = 0.0
        var start = 0
        for w in 0..<workers {
          cumulative += proportions[w]
          let end = w == workers - 1 ? members.count : min(members.count, Int((cumulative * Double(members.count)).rounded()))
          if end > start { shards[w].append(contentsOf: members[start..<end]) }
          start = max(start, end)
        }
      }
    case let .shards(k):
      var order = rng.permutation(n)
      // Stable sort by label of a shuffled order: samples within a label stay shuffled.
      order = order.enumerated().sorted { a, b in
        labels[a.element] != labels[b.element] ? labels[a.element] < labels[b.element] : a.offset < b.offset
      }.map(\.element)
      let pieces = workers * k
      let pieceOrder = rng.permutation(pieces)
      for (slot, piece) in pieceOrder.enumerated() {
        let w = slot / k
        shards[w].append(contentsOf: order[(piece * n / pieces)..<((piece + 1) * n / pieces)])
      }
    case let .groupBias(p):
      // Worker w belongs to group w·L/workers: groups as even as the counts allow.
      var groupMembers = [[Int]](repeating: [], count: classes)
      for w in 0..<workers { groupMembers[w * classes / workers].append(w) }
      for i in 0..<n {
        let l = Int(labels[i])
        var group = l
        if classes > 1, rng.nextDouble() >= p {
          let other = rng.nextInt(below: classes - 1)
          group = other < l ? other : other + 1
        }
        let members = groupMembers[group]
        shards[members[rng.nextInt(below: members.count)]].append(i)
      }
    }
    return shards.map { $0.sorted() }
  }
}
