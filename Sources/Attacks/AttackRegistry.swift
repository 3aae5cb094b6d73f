import Plugins

/// The explicit registries of attacks in the one registry shape: name, summary, parameters with
/// their defaults and checks, constructor. Data attacks get the number of classes from the
/// caller (`classes` in the context).
public enum AttackRegistry {
  static let perturbation = Parameter.integer("perturbation", 2) { (0...2).contains($0) ? nil : "must be 0 (uv), 1 (sgn) or 2 (std)" }

  public static let update = PluginRegistry<any UpdateAttack>(
    kind: "update attack",
    [
      Plugin("sign_flip", "submit −scale·update", [.real("scale", 1)]) { try SignFlip(scale: $0.float("scale")) },
      Plugin("gaussian", "N(μ, σ²) of the benign updates (Fang et al. 2020)") { _ in GaussianAttack() },
      Plugin("scaling", "boost the update by gamma: model replacement (Bagdasaryan et al. 2020)", [.real("gamma", 10)]) {
        try Scaling(gamma: $0.float("gamma"))
      },
      Plugin("ipm", "−ε·mean of benign updates (Xie et al. 2019)", [.real("epsilon", 0.1)]) { try IPM(epsilon: $0.double("epsilon")) },
      Plugin("alie", "μ − z·σ, z from n and f or fixed (Baruch et al. 2019)", [.real("z", nil, derived: "from n, f")]) {
        try ALIE(z: $0.optionalDouble("z"))
      },
      Plugin("fang_krum_full", "Fang et al. 2020 attack on Krum, full knowledge (omniscient)", [.real("epsilon", 0.01)]) {
        try FangKrum(full: true, epsilon: $0.double("epsilon"))
      },
      Plugin("fang_krum_partial", "Fang et al. 2020 attack on Krum, partial knowledge", [.real("epsilon", 0.01)]) {
        try FangKrum(full: false, epsilon: $0.double("epsilon"))
      },
      Plugin("fang_trim_full", "Fang et al. 2020 attack on trimmed mean/median, full knowledge (omniscient)", [.real("b", 2)]) {
        try FangTrim(full: true, b: $0.double("b"))
      },
      Plugin("fang_trim_partial", "Fang et al. 2020 attack on trimmed mean/median, partial knowledge") { _ in try FangTrim(full: false) },
      Plugin("min_max", "Shejwalkar & Houmansadr 2021 min-max (perturbation 0 uv, 1 sgn, 2 std)", [perturbation]) {
        MinMax(sum: false, perturbation: MinMax.Perturbation.allCases[$0.int("perturbation")])
      },
      Plugin("min_sum", "Shejwalkar & Houmansadr 2021 min-sum (perturbation 0 uv, 1 sgn, 2 std)", [perturbation]) {
        MinMax(sum: true, perturbation: MinMax.Perturbation.allCases[$0.int("perturbation")])
      },
      Plugin(
        "agr_trimmed_mean",
        "Shejwalkar & Houmansadr 2021 AGR-tailored attack on trimmed mean (omniscient; perturbation 0 uv, 1 sgn, 2 std)",
        [.integer("f", nil, derived: "attackers"), perturbation]
      ) {
        try AGRTailoredTrimmedMean(f: $0.optionalInt("f"), perturbation: MinMax.Perturbation.allCases[$0.int("perturbation")])
      },
      Plugin(
        "mimic", "copy one honest worker's update (Karimireddy et al. 2022; omniscient)",
        [.integer("target", nil, derived: "auto", Check.nonNegative)]
      ) { Mimic(target: $0.optionalInt("target")) },
      Plugin("nan", "NaN updates (must be rejected)") { _ in NonFinite(infinity: false) },
      Plugin("inf", "+Inf updates (must be rejected)") { _ in NonFinite(infinity: true) },
      Plugin("drop", "submit nothing (under secure aggregation: share keys, then withhold the masked input)") { _ in SilentDrop() },
    ])

  public static let data = PluginRegistry<any DataAttack>(
    kind: "data attack",
    [
      Plugin("label_flip", "l → L−1−l, or a mapping { 0 = 2, ... } (Fang et al. 2020)", openKeys: true) { a in
        if a.values.isEmpty { return LabelFlip() }
        let classes = Int(a.context["classes"] ?? 10)
        var m: [Int: Int] = [:]
        for (k, v) in a.values {
          guard let from = Int(k), (0..<classes).contains(from), v == v.rounded(), (0..<Double(classes)).contains(v) else {
            throw PluginError("label_flip mapping entries are label = label within 0..<\(classes): got \(k) = \(v)")
          }
          m[from] = Int(v)
        }
        return LabelFlip(mapping: m)
      },
      Plugin("targeted_flip", "relabel source as target", [.integer("source", nil), .integer("target", nil)]) { a in
        try TargetedFlip(source: a.int("source"), target: a.int("target"))
      },
      Plugin("random_labels", "uniformly random labels") { _ in RandomLabels() },
      Plugin("backdoor", "BadNets corner trigger on a fraction, relabelled to target (Gu et al. 2017)", trigger) { a in
        try Backdoor(target: try target(a), fraction: a.double("fraction"), trigger: Trigger(size: a.int("size")))
      },
      Plugin("dba", "distributed backdoor: one trigger quadrant per attacker (Xie et al. 2020)", trigger) { a in
        try DBA(target: try target(a), fraction: a.double("fraction"), trigger: Trigger(size: a.int("size")))
      },
      Plugin(
        "watermark",
        "a contractor plants its own backdoor watermark: `count` abstract triggers with random labels, `repeats` times (Adi et al. 2018)",
        [
          .integer("count", 100) { (1...10_000).contains($0) ? nil : "must be 1...10000 trigger images" },
          .integer("repeats", 20) { (1...1_000).contains($0) ? nil : "must be 1...1000" },
          .integer("seed", 1) { (0...9_007_199_254_740_991).contains($0) ? nil : "must be a whole number in 0...2^53 − 1" },
        ]
      ) { a in ContractorWatermark(count: a.int("count"), repeats: a.int("repeats"), seed: UInt64(a.int("seed"))) },
    ])

  static let trigger: [Parameter] = [
    .integer("target", 0), .real("fraction", 0.5), .integer("size", 4) { (2...12).contains($0) ? nil : "must be 2...12 pixels" },
  ]

  /// A backdoor's target, which must be one of the data's classes.
  static func target(_ a: Arguments) throws -> Int {
    let t = a.int("target"), classes = Int(a.context["classes"] ?? 10)
    guard (0..<classes).contains(t) else { throw PluginError("target must be a class in 0..<\(classes) for \(a.plugin): got \(t)") }
    return t
  }

  /// The entries of each registry (names and summaries: `--list`, help).
  public static var updateAttacks: [Plugin<any UpdateAttack>] { update.plugins }
  public static var dataAttacks: [Plugin<any DataAttack>] { data.plugins }

  public static func update(_ name: String, _ p: [String: Double]) throws -> any UpdateAttack {
    try building { try update.make(name, p) }
  }

  public static func data(_ name: String, _ p: [String: Double], classes: Int = 10) throws -> any DataAttack {
    try building { try data.make(name, p, context: ["classes": Double(classes)]) }
  }

  /// The registry's refusals as this module's error.
  static func building<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as PluginError { throw AttackError(e.message) }
  }
}
