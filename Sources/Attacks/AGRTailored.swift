import Aggregation
import Tensor

/// AGR-tailored attack on trimmed mean (Shejwalkar & Houmansadr 2021, "Manipulating the
/// Byzantine: optimizing model poisoning attacks and defenses for federated learning", NDSS,
/// §IV-B): the attacker knows the benign updates and the aggregation rule, and every malicious
/// worker submits ∇m = ∇b + γ·∇p (∇b the benign mean, ∇p the perturbation: −σ by default, as
/// for min-max) with γ maximising the deviation of the rule's output from the benign mean,
///
///     max_γ ‖∇b − TrMean_β(∇m, …, ∇m, ∇₁, …, ∇ₙ)‖₂,
///
/// found with the authors' search (Algorithm 1, γ_init = 10, τ = 1e-5): γ moves up by step/2
/// after a success and down by step/2 after a failure, step halving each time; as in the
/// authors' released code, a step is a success when its deviation exceeds the previous step's,
/// and the answer is the last successful γ. β is the trimmed mean's trim count (`f`, default:
/// the number of attackers).
///
/// Worked example (benign 0, 1, 2 in one dimension, one attacker, β = 1): ∇b = 1; any ∇m ≤ 0
/// makes the trimmed mean (0 + 1)/2 = 0.5, the largest deviation possible (0.5), while
/// ∇m ∈ [0, 1] gives (∇m + 1)/2.
public struct AGRTailoredTrimmedMean: UpdateAttack {
  public let name = "agr_trimmed_mean"
  public let needs = Knowledge.omniscient
  public let f: Int?
  public let perturbation: MinMax.Perturbation

  public init(f: Int? = nil, perturbation: MinMax.Perturbation = .std) throws {
    if let f, f < 0 { throw AttackError("f must be >= 0 for agr_trimmed_mean: got \(f)") }
    self.f = f
    self.perturbation = perturbation
  }

  public func craft(_ input: AttackInput, rng: inout RandomStream) throws -> [Int: AttackOutput] {
    guard let honest = input.honest, !honest.isEmpty else {
      throw AttackError("agr_trimmed_mean needs the honest updates (knowledge = \"omniscient\")")
    }
    let benign = honest.keys.sorted().map { honest[$0]! }
    let c = input.own.count, d = input.dimension
    let (mu, sd) = Stats.meanStd(benign)
    let p = perturbation.vector(mean: mu, std: sd)
    let rule = try TrimmedMean(f: f ?? c)
    guard rule.problem(n: benign.count + c) == nil else {
      throw AttackError("agr_trimmed_mean: trimmed mean with β = \(rule.f) cannot aggregate \(benign.count + c) updates")
    }
    let benignRows = benign.flatMap { $0 }
    func deviation(_ g: Double) throws -> Double {
      let m = (0..<d).map { Float(mu[$0] + g * p[$0]) }
      var rows = benignRows
      for _ in 0..<c { rows += m }
      let out = try rule.aggregate(UpdateMatrix(rows: benign.count + c, cols: d, data: rows), context: RoundContext()).vector
      return Stats.distance(mu, out)
    }
    var gamma = 10.0, step = 10.0, best = 0.0, previous = -1.0
    while abs(best - gamma) > 1e-5 {
      let dev = try deviation(gamma)
      if dev > previous { best = gamma; gamma += step / 2 } else { gamma -= step / 2 }
      previous = dev
      step /= 2
      if step < 1e-12 { break }
    }
    return Stats.same((0..<d).map { mu[$0] + best * p[$0] }, input.maliciousIDs)
  }
}
