import Data
import Tensor

/// The shards of a run's participants: one per worker, or with `clients` one per logical client,
/// computed alike by `prepare` (which records their sizes in the signed manifest) and by every
/// pool process (which checks its own computation against them).
///
/// Logical clients take the topology's partition over N clients. With more clients than samples
/// (IID only) each client holds one sample: client i the (i mod S)-th of the shuffled order, so
/// clients i and i + S share theirs.
enum ClientShards {
  static func assign(_ topology: Topology, labels: [Int32], classes: Int) throws -> [[Int]] {
    let n = labels.count, clients = topology.workerCount
    if topology.clients != nil, clients > n, topology.data.partition == .iid {
      var rng = RandomStream(seed: topology.seed, purpose: .partition)
      let order = rng.permutation(n)
      return (0..<clients).map { [order[$0 % n]] }
    }
    return try topology.data.partition.assign(labels: labels, classes: classes, workers: clients, seed: topology.seed)
  }
}

extension Topology {
  /// "13 workers", or "10000 clients (100 per round) on a pool of 2 processes".
  public var participantsText: String {
    guard let c = clients else { return "\(workerCount) workers" }
    return "\(c.count) clients (\(c.perRound) per round) on a pool of \(c.pool) process\(c.pool == 1 ? "" : "es")"
  }

  /// Why the partition cannot split `count` samples among this run's participants, or nil
  /// (logical clients under IID may outnumber the samples: see `ClientShards`).
  public func partitionProblem(classes: Int, count: Int) -> String? {
    if clients != nil, data.partition == .iid, count >= 1 { return nil }
    return data.partition.problem(workers: workerCount, classes: classes, count: count)
  }
}
