import Data
import Foundation
import Learning
import Tensor

/// A membership-inference experiment in the setting of Carlini et al. 2022 (§5.1): a pool of
/// 2N training images; the target model trains on a random half (the members), and every
/// attack scores all 2N for membership. The attacks:
///
/// - `loss` (Yeom et al. 2018) and `confidence` (Salem et al. 2019): thresholds on one output.
/// - `shadow` (Shokri et al. 2017): `shokriShadows` shadow models trained by ByzSim on random
///   halves of a second pool of 2N images disjoint from the first; one attack model per class
///   (a logistic regression on the log-probability vector — Shokri et al. used small neural
///   networks) learns IN from OUT on the shadows' outputs, then scores the target's.
/// - LiRA (Carlini et al. 2022): `shadows` K shadow models on random halves of the target's own
///   pool, so each example is IN for about K/2 of them; online (IN and OUT Gaussians) and
///   offline (OUT only), each with per-example or fixed (pooled) variance. One query per
///   example (the paper also averages over augmentations: not done here).
/// - `label-only` (Choquette-Choo et al. 2021, the noise-robustness attack): the share of
///   `labelOnlyQueries` Gaussian-noised copies (σ = `labelOnlyNoise`, clipped to [0, 1]) that
///   the target still labels correctly.
///
/// Every query to the target passes through `observe` (an output policy of the server: what
/// the attacker sees), and so do the shadows' outputs: the attacker imitates the API it attacks.
public struct MembershipExperiment {
  public var spec: ModelSpec
  public var members: Int
  public var shadows: Int
  public var shokriShadows: Int
  public var training: TrainingConfiguration
  public var seed: UInt64
  public var labelOnlyQueries = 16
  public var labelOnlyNoise = 0.1
  /// DP-SGD for every model — the target and, as LiRA assumes the attacker knows the training
  /// procedure, the shadows; nil: plain SGD.
  public var privacy: DPSGDConfiguration?

  public init(spec: ModelSpec, members: Int, shadows: Int, shokriShadows: Int = 4, training: TrainingConfiguration, seed: UInt64) {
    self.spec = spec
    self.members = members
    self.shadows = shadows
    self.shokriShadows = shokriShadows
    self.training = training
    self.seed = seed
  }

  public struct AttackResult: Sendable {
    public let name: String
    public let roc: ROC
  }

  public struct Report: Sendable {
    public let targetTrainAccuracy: Double
    public let targetTestAccuracy: Double
    public let attacks: [AttackResult]
  }

  /// Why this experiment cannot run on `available` training images, or nil.
  public func problem(available: Int) -> String? {
    if members < 10 { return "at least 10 members: got \(members)" }
    if 4 * members > available {
      return "4 × members (\(4 * members)) images are needed (two pools of 2N); the training set has \(available)"
    }
    if shadows < 2 || shadows > 256 { return "LiRA needs 2 to 256 shadow models: got \(shadows)" }
    if shokriShadows < 1 || shokriShadows > 64 { return "the shadow-model attack needs 1 to 64 shadows: got \(shokriShadows)" }
    if labelOnlyQueries < 1 { return "at least one label-only query" }
    return training.problem
  }

  public func run(
    train: Dataset, test: Dataset, observe: ([Double], inout RandomStream) -> [Double], progress: (String) -> Void = { _ in }
  ) -> Report {
    precondition(problem(available: train.count) == nil, problem(available: train.count) ?? "")
    let n = 2 * members
    let pool = train.subset(Array(0..<n)), disjoint = train.subset(Array(n..<(2 * n)))
    let labels = pool.labels.map(Int.init)
    func half(_ stream: UInt64) -> [Bool] {
      var rng = RandomStream(seed: seed, purpose: .sampling, 0x4D49_41, stream)
      var inside = [Bool](repeating: false, count: n)
      for i in rng.permutation(n).prefix(members) { inside[i] = true }
      return inside
    }
    func model(on data: Dataset, _ inside: [Bool], _ stream: UInt64) -> Network {
      let network = spec.makeNetwork(input: data.shape, classes: data.classes, seed: seed &+ stream &* 7919)
      var config = training
      config.seed = seed &+ stream
      let trainer = Trainer(network: network, configuration: config)
      let members = data.subset(inside.indices.filter { inside[$0] })
      if let privacy {
        for e in 0..<config.epochs { trainer.trainPrivateEpoch(members, epoch: e, privacy: privacy) }
      } else {
        trainer.fit(members)
      }
      return network
    }
    progress("target model")
    let membership = half(0)
    let target = model(on: pool, membership, 0)
    var query = RandomStream(seed: seed, purpose: .noise, 0x4D49_41)
    let seen = Self.probabilities(target, pool).map { observe($0, &query) }
    let trainAccuracy = target.evaluate(pool.subset(membership.indices.filter { membership[$0] })).accuracy
    let testAccuracy = target.evaluate(test).accuracy

    var results: [AttackResult] = []
    results.append(AttackResult(name: "loss", roc: ROC(scores: MembershipScores.loss(seen, labels: labels), isMember: membership)))
    results.append(AttackResult(name: "confidence", roc: ROC(scores: MembershipScores.confidence(seen), isMember: membership)))

    // Shokri et al.: shadows on the disjoint pool, one attack model per class.
    var features: [[[Double]]] = Array(repeating: [], count: pool.classes)
    var isIn: [[Bool]] = Array(repeating: [], count: pool.classes)
    for s in 0..<shokriShadows {
      progress("shadow-model attack: shadow \(s + 1)/\(shokriShadows)")
      let inside = half(1000 + UInt64(s))
      let shadow = model(on: disjoint, inside, 1000 + UInt64(s))
      for (i, p) in Self.probabilities(shadow, disjoint).map({ observe($0, &query) }).enumerated() {
        let y = Int(disjoint.labels[i])
        features[y].append(p.map { log(max($0, 1e-30)) })
        isIn[y].append(inside[i])
      }
    }
    let attackModels = (0..<pool.classes).map { c -> LogisticRegression? in
      isIn[c].contains(true) && isIn[c].contains(false) ? LogisticRegression(features: features[c], labels: isIn[c]) : nil
    }
    let shokri = zip(seen, labels).map { p, y in attackModels[y]?.score(p.map { log(max($0, 1e-30)) }) ?? 0 }
    results.append(AttackResult(name: "shadow", roc: ROC(scores: shokri, isMember: membership)))

    // LiRA: shadows on random halves of the target's pool.
    var phi: [[Double]] = [], trainedOn: [[Bool]] = []
    for s in 0..<shadows {
      progress("LiRA: shadow \(s + 1)/\(shadows)")
      let inside = half(1 + UInt64(s))
      let shadow = model(on: pool, inside, 1 + UInt64(s))
      let shown = Self.probabilities(shadow, pool).map { observe($0, &query) }
      phi.append(zip(shown, labels).map { MembershipScores.scaledConfidence($0, label: $1) })
      trainedOn.append(inside)
    }
    let targetPhi = zip(seen, labels).map { MembershipScores.scaledConfidence($0, label: $1) }
    for fixed in [false, true] {
      let fits = MembershipScores.fits(phi: phi, trainedOn: trainedOn, fixedVariance: fixed)
      for variant in MembershipScores.LiRAVariant.allCases {
        let scores = zip(targetPhi, fits).map { MembershipScores.lira($0, fit: $1, variant: variant) }
        results.append(
          AttackResult(
            name: "lira-\(variant.rawValue)\(fixed ? "-fixed" : "")",
            roc: ROC(scores: scores.map { $0.isNaN ? 0 : $0 }, isMember: membership)))
      }
    }

    // Label-only: robustness to noise, seen through the policy's label.
    progress("label-only attack")
    var noise = RandomStream(seed: seed, purpose: .noise, 0x4C4F)
    var robust = [Double](repeating: 0, count: n)
    for _ in 0..<labelOnlyQueries {
      var noisy = pool.features
      for j in noisy.indices { noisy[j] = min(1, max(0, noisy[j] + Float(labelOnlyNoise * noise.nextNormal()))) }
      let p = Self.probabilities(target, Dataset(features: noisy, labels: pool.labels, shape: pool.shape, classes: pool.classes))
      for i in 0..<n {
        let o = observe(p[i], &query)
        var label = 0
        for k in o.indices where o[k] > o[label] { label = k }
        if label == labels[i] { robust[i] += 1 }
      }
    }
    results.append(AttackResult(name: "label-only", roc: ROC(scores: robust, isMember: membership)))
    return Report(targetTrainAccuracy: trainAccuracy, targetTestAccuracy: testAccuracy, attacks: results)
  }

  /// Softmax probabilities (Double) of every image of `data`.
  static func probabilities(_ network: Network, _ data: Dataset) -> [[Double]] {
    data.features.withUnsafeBufferPointer { network.probabilities($0.baseAddress!, count: data.count) }
  }
}
