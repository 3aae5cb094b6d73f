/// The explicit registries of attacks: name → constructor from numeric parameters.
public enum AttackRegistry {
  public struct Entry: Sendable {
    public let name: String
    public let summary: String
    public let parameters: [(String, String)]
  }

  public static let updateAttacks: [Entry] = [
    Entry(name: "sign_flip", summary: "submit −scale·update", parameters: [("scale", "1")]),
    Entry(name: "gaussian", summary: "N(μ, σ²) of the benign updates (Fang et al. 2020)", parameters: []),
    Entry(
      name: "scaling", summary: "boost the update by gamma: model replacement (Bagdasaryan et al. 2020)", parameters: [("gamma", "10")]),
    Entry(name: "ipm", summary: "−ε·mean of benign updates (Xie et al. 2019)", parameters: [("epsilon", "0.1")]),
    Entry(name: "alie", summary: "μ − z·σ, z from n and f or fixed (Baruch et al. 2019)", parameters: [("z", "from n, f")]),
    Entry(
      name: "fang_krum_full", summary: "Fang et al. 2020 attack on Krum, full knowledge (omniscient)", parameters: [("epsilon", "0.01")]),
    Entry(name: "fang_krum_partial", summary: "Fang et al. 2020 attack on Krum, partial knowledge", parameters: [("epsilon", "0.01")]),
    Entry(
      name: "fang_trim_full", summary: "Fang et al. 2020 attack on trimmed mean/median, full knowledge (omniscient)",
      parameters: [("b", "2")]),
    Entry(name: "fang_trim_partial", summary: "Fang et al. 2020 attack on trimmed mean/median, partial knowledge", parameters: []),
    Entry(
      name: "min_max", summary: "Shejwalkar & Houmansadr 2021 min-max (perturbation 0 uv, 1 sgn, 2 std)",
      parameters: [("perturbation", "2 (std)")]),
    Entry(
      name: "min_sum", summary: "Shejwalkar & Houmansadr 2021 min-sum (perturbation 0 uv, 1 sgn, 2 std)",
      parameters: [("perturbation", "2 (std)")]),
    Entry(
      name: "agr_trimmed_mean",
      summary: "Shejwalkar & Houmansadr 2021 AGR-tailored attack on trimmed mean (omniscient; perturbation 0 uv, 1 sgn, 2 std)",
      parameters: [("f", "attackers"), ("perturbation", "2 (std)")]),
    Entry(
      name: "mimic", summary: "copy one honest worker's update (Karimireddy et al. 2022; omniscient)", parameters: [("target", "auto")]),
    Entry(name: "nan", summary: "NaN updates (must be rejected)", parameters: []),
    Entry(name: "inf", summary: "+Inf updates (must be rejected)", parameters: []),
    Entry(name: "drop", summary: "submit nothing", parameters: []),
  ]

  public static let dataAttacks: [Entry] = [
    Entry(name: "label_flip", summary: "l → L−1−l, or a mapping { 0 = 2, ... } (Fang et al. 2020)", parameters: [("<label>", "L−1−label")]),
    Entry(name: "targeted_flip", summary: "relabel source as target", parameters: [("source", "required"), ("target", "required")]),
    Entry(name: "random_labels", summary: "uniformly random labels", parameters: []),
    Entry(
      name: "backdoor", summary: "BadNets corner trigger on a fraction, relabelled to target (Gu et al. 2017)",
      parameters: [("target", "0"), ("fraction", "0.5"), ("size", "4")]),
    Entry(
      name: "dba", summary: "distributed backdoor: one trigger quadrant per attacker (Xie et al. 2020)",
      parameters: [("target", "0"), ("fraction", "0.5"), ("size", "4")]),
  ]

  static func int(_ p: [String: Double], _ k: String, _ def: Int?, rule: String) throws -> Int {
    guard let v = p[k] else {
      guard let def else { throw AttackError("\(rule) needs \(k)") }
      return def
    }
    guard v == v.rounded() else { throw AttackError("\(k) must be an integer for \(rule): got \(v)") }
    return Int(v)
  }

  static func check(_ p: [String: Double], allowed: [String], rule: String) throws {
    for k in p.keys.sorted() where !allowed.contains(k) {
      throw AttackError("\(rule) has no parameter '\(k)' (it takes: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))")
    }
  }

  public static func update(_ name: String, _ p: [String: Double]) throws -> any UpdateAttack {
    switch name {
    case "sign_flip": try check(p, allowed: ["scale"], rule: name); return try SignFlip(scale: Float(p["scale"] ?? 1))
    case "gaussian": try check(p, allowed: [], rule: name); return GaussianAttack()
    case "scaling": try check(p, allowed: ["gamma"], rule: name); return try Scaling(gamma: Float(p["gamma"] ?? 10))
    case "ipm": try check(p, allowed: ["epsilon"], rule: name); return try IPM(epsilon: p["epsilon"] ?? 0.1)
    case "alie": try check(p, allowed: ["z"], rule: name); return try ALIE(z: p["z"])
    case "fang_krum_full", "fang_krum_partial":
      try check(p, allowed: ["epsilon"], rule: name); return try FangKrum(full: name.hasSuffix("full"), epsilon: p["epsilon"] ?? 0.01)
    case "fang_trim_full": try check(p, allowed: ["b"], rule: name); return try FangTrim(full: true, b: p["b"] ?? 2)
    case "fang_trim_partial": try check(p, allowed: [], rule: name); return try FangTrim(full: false)
    case "min_max", "min_sum":
      try check(p, allowed: ["perturbation"], rule: name)
      let k = try int(p, "perturbation", 2, rule: name)
      guard (0...2).contains(k) else { throw AttackError("perturbation must be 0 (uv), 1 (sgn) or 2 (std) for \(name): got \(k)") }
      return MinMax(sum: name == "min_sum", perturbation: MinMax.Perturbation.allCases[k])
    case "agr_trimmed_mean":
      try check(p, allowed: ["f", "perturbation"], rule: name)
      let k = try int(p, "perturbation", 2, rule: name)
      guard (0...2).contains(k) else { throw AttackError("perturbation must be 0 (uv), 1 (sgn) or 2 (std) for \(name): got \(k)") }
      return try AGRTailoredTrimmedMean(
        f: p["f"] == nil ? nil : try int(p, "f", nil, rule: name), perturbation: MinMax.Perturbation.allCases[k])
    case "mimic": try check(p, allowed: ["target"], rule: name); return Mimic(target: p["target"].map { Int($0) })
    case "nan": try check(p, allowed: [], rule: name); return NonFinite(infinity: false)
    case "inf": try check(p, allowed: [], rule: name); return NonFinite(infinity: true)
    case "drop": try check(p, allowed: [], rule: name); return SilentDrop()
    default: throw AttackError("unknown update attack '\(name)': one of \(updateAttacks.map(\.name).joined(separator: ", "))")
    }
  }

  public static func data(_ name: String, _ p: [String: Double], classes: Int = 10) throws -> any DataAttack {
    switch name {
    case "label_flip":
      if p.isEmpty { return LabelFlip() }
      var m: [Int: Int] = [:]
      for (k, v) in p {
        guard let from = Int(k), (0..<classes).contains(from), v == v.rounded(), (0..<classes).contains(Int(v)) else {
          throw AttackError("label_flip mapping entries are label = label within 0..<\(classes): got \(k) = \(v)")
        }
        m[from] = Int(v)
      }
      return LabelFlip(mapping: m)
    case "targeted_flip":
      try check(p, allowed: ["source", "target"], rule: name)
      return try TargetedFlip(source: try int(p, "source", nil, rule: name), target: try int(p, "target", nil, rule: name))
    case "random_labels": try check(p, allowed: [], rule: name); return RandomLabels()
    case "backdoor", "dba":
      try check(p, allowed: ["target", "fraction", "size"], rule: name)
      let t = try int(p, "target", 0, rule: name)
      guard (0..<classes).contains(t) else { throw AttackError("target must be a class in 0..<\(classes) for \(name): got \(t)") }
      let trigger = Trigger(size: try int(p, "size", 4, rule: name))
      guard (2...12).contains(trigger.size) else { throw AttackError("size must be 2...12 pixels for \(name): got \(trigger.size)") }
      return name == "dba"
        ? try DBA(target: t, fraction: p["fraction"] ?? 0.5, trigger: trigger)
        : try Backdoor(target: t, fraction: p["fraction"] ?? 0.5, trigger: trigger)
    default: throw AttackError("unknown data attack '\(name)': one of \(dataAttacks.map(\.name).joined(separator: ", "))")
    }
  }
}
