import Plugins

/// The explicit registries of aggregation rules and pre-aggregators: name, summary, parameters
/// with their defaults and checks, constructor — declared once, in the one registry shape every
/// kind of plug-in shares. The topology decoder, the coordinator and `byzsim aggregate` read them.
public enum AggregationRegistry {
  static let f = Parameter.integer("f", 0, Check.nonNegative)

  public static let aggregators = PluginRegistry<any Aggregator>(
    kind: "aggregator",
    [
      Plugin("mean", "sample-weighted mean (FedAvg)") { _ in Mean() },
      Plugin("median", "coordinate-wise median (Yin et al. 2018)") { _ in CoordinateMedian() },
      Plugin("trimmed_mean", "coordinate-wise trimmed mean, drops f per side (Yin et al. 2018)", [f]) { try TrimmedMean(f: $0.int("f")) },
      Plugin("krum", "Krum, n−f−2 nearest, squared distances (Blanchard et al. 2017)", [f]) { try Krum(f: $0.int("f"), m: 1) },
      Plugin(
        "multi_krum", "mean of the m best Krum scores (Blanchard et al. 2017)", [f, .integer("m", nil, derived: "n−f", Check.atLeastOne)]
      ) {
        try Krum(f: $0.int("f"), m: $0.optionalInt("m"))
      },
      Plugin(
        "geometric_median", "smoothed Weiszfeld, RFA (Pillutla et al. 2022)",
        [.real("nu", 1e-6, Check.positive), .integer("iterations", 100, Check.atLeastOne), .real("tolerance", 1e-10, Check.nonNegative)]
      ) {
        try GeometricMedian(nu: $0.double("nu"), iterations: $0.int("iterations"), tolerance: $0.double("tolerance"))
      },
      Plugin("bulyan", "recursive Krum + mean around the median (El Mhamdi et al. 2018)", [f]) { try Bulyan(f: $0.int("f")) },
      Plugin(
        "centered_clipping", "centered clipping around the last aggregate (Karimireddy et al. 2021)",
        [.real("tau", 10, Check.positive), .integer("iterations", 1, Check.atLeastOne)]
      ) {
        try CenteredClipping(tau: $0.double("tau"), iterations: $0.int("iterations"))
      },
      Plugin("mda", "minimum-diameter averaging (El Mhamdi et al. 2020)", [f]) { try MDA(f: $0.int("f")) },
      Plugin("meamed", "coordinate-wise mean around the median (Xie et al. 2018)", [f]) { try MeaMed(f: $0.int("f")) },
      Plugin(
        "monna", "mean of the n−f nearest neighbours of a trusted pivot (Farhadkhani et al. 2023)",
        [f, .integer("pivot", 0, Check.nonNegative)]
      ) { try MoNNA(f: $0.int("f"), pivot: $0.int("pivot")) },
      Plugin("caf", "covariance-bound agnostic filter (Allouah et al. 2025)", [f]) { try CAF(f: $0.int("f")) },
      Plugin("fltrust", "trust scores against the root-dataset update (Cao et al. 2021)") { _ in FLTrust() },
      Plugin("foolsgold", "historical-similarity weights against Sybils (Fung et al. 2020)", [.real("kappa", 1, Check.positive)]) {
        try FoolsGold(kappa: $0.double("kappa"))
      },
      Plugin(
        "dnc", "divide-and-conquer spectral filtering (Shejwalkar & Houmansadr 2021)",
        [f, .integer("niters", 5, Check.atLeastOne), .integer("subsample", 10_000, Check.atLeastOne), .real("c", 1, Check.positive)]
      ) {
        try DnC(f: $0.int("f"), iterations: $0.int("niters"), subsample: $0.int("subsample"), filterFraction: $0.double("c"))
      },
      Plugin(
        "signguard", "norm filter + sign clustering + clipping (Xu et al. 2022)",
        [
          .real("lower", 0.1, Check.nonNegative), .real("upper", 3, Check.positive),
          .real("coordinate_fraction", 0.1, { $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1]" }),
          .real("bandwidth", 0, derived: nil, Check.nonNegative),
        ]
      ) {
        try SignGuard(
          lower: $0.double("lower"), upper: $0.double("upper"), coordinateFraction: $0.double("coordinate_fraction"),
          bandwidth: $0.double("bandwidth"))
      },
      Plugin(
        "norm_bounding", "clip to a norm bound, optional Gaussian noise (Sun et al. 2019)",
        [.real("norm_bound", 1, Check.positive), .real("sigma", 0, Check.nonNegative)]
      ) {
        try NormBounding(bound: $0.double("norm_bound"), sigma: $0.double("sigma"))
      },
      Plugin("flame", "cosine clustering + adaptive clipping + noise (Nguyen et al. 2022)", [.real("lambda", 0.001, Check.nonNegative)]) {
        try FLAME(lambda: $0.double("lambda"))
      },
    ])

  public static let preaggregators = PluginRegistry<any PreAggregator>(
    kind: "pre-aggregator",
    [
      Plugin("nnm", "nearest-neighbour mixing (Allouah et al. 2023)", [f]) { try NNM(f: $0.int("f")) },
      Plugin("bucketing", "average random buckets of s (Karimireddy et al. 2022)", [.integer("s", 2, Check.atLeastOne)]) {
        try Bucketing(s: $0.int("s"))
      },
      Plugin("clipping", "static clipping to norm c", [.real("c", 1, Check.positive)]) { try StaticClipping(c: $0.double("c")) },
      Plugin("arc", "adaptive robust clipping (Allouah et al. 2024)", [f]) { try ARC(f: $0.int("f")) },
    ])

  /// Builds the aggregator `name` from its parameters; every mistake is an AggregationError
  /// that names the parameter and the constraint.
  public static func aggregator(_ name: String, _ values: [String: Double]) throws -> any Aggregator {
    try building { try aggregators.make(name, values) }
  }

  public static func preaggregator(_ name: String, _ values: [String: Double]) throws -> any PreAggregator {
    try building { try preaggregators.make(name, values) }
  }

  /// The registry's refusals as this module's error.
  static func building<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as PluginError { throw AggregationError(e.message) }
  }
}

/// Pre-aggregators followed by an aggregator, as configured for a run.
public struct AggregationPipeline: Sendable {
  public var preaggregators: [any PreAggregator]
  public var aggregator: any Aggregator

  public init(preaggregators: [any PreAggregator], aggregator: any Aggregator) {
    self.preaggregators = preaggregators; self.aggregator = aggregator
  }

  /// Why n inputs cannot be aggregated safely through the chain, or nil.
  public func problem(n: Int) -> String? {
    var m = n
    for p in preaggregators {
      if let why = p.problem(n: m) { return why }
      m = p.outputCount(n: m)
    }
    return aggregator.problem(n: m)
  }

  public mutating func run(_ x: UpdateMatrix, context: RoundContext) throws -> AggregationResult {
    var m = x
    for p in preaggregators { m = try p.transform(m, context: context) }
    var result = try aggregator.aggregate(m, context: context)
    // Weights refer to the transformed rows; only report them when rows map one-to-one.
    if m.rows != x.rows { result.weights = nil }
    return result
  }
}
