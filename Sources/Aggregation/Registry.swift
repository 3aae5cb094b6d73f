/// The explicit registries of aggregation rules and pre-aggregators: name → constructor from
/// named parameters. The topology decoder, the coordinator and `byzsim aggregate` read them.
public enum AggregationRegistry {
  public struct Entry: Sendable {
    public let name: String
    public let summary: String
    /// Parameter names with their defaults, for `--list`.
    public let parameters: [(String, String)]
  }

  public static let aggregators: [Entry] = [
    Entry(name: "mean", summary: "sample-weighted mean (FedAvg)", parameters: []),
    Entry(name: "median", summary: "coordinate-wise median (Yin et al. 2018)", parameters: []),
    Entry(name: "trimmed_mean", summary: "coordinate-wise trimmed mean, drops f per side (Yin et al. 2018)", parameters: [("f", "0")]),
    Entry(name: "krum", summary: "Krum, n−f−2 nearest, squared distances (Blanchard et al. 2017)", parameters: [("f", "0")]),
    Entry(name: "multi_krum", summary: "mean of the m best Krum scores (Blanchard et al. 2017)", parameters: [("f", "0"), ("m", "n−f")]),
    Entry(
      name: "geometric_median", summary: "smoothed Weiszfeld, RFA (Pillutla et al. 2022)",
      parameters: [("nu", "1e-6"), ("iterations", "100"), ("tolerance", "1e-10")]),
    Entry(name: "bulyan", summary: "recursive Krum + mean around the median (El Mhamdi et al. 2018)", parameters: [("f", "0")]),
    Entry(
      name: "centered_clipping", summary: "centered clipping around the last aggregate (Karimireddy et al. 2021)",
      parameters: [("tau", "10"), ("iterations", "1")]),
    Entry(name: "mda", summary: "minimum-diameter averaging (El Mhamdi et al. 2020)", parameters: [("f", "0")]),
    Entry(name: "meamed", summary: "coordinate-wise mean around the median (Xie et al. 2018)", parameters: [("f", "0")]),
    Entry(
      name: "monna", summary: "mean of the n−f nearest neighbours of a trusted pivot (Farhadkhani et al. 2023)",
      parameters: [("f", "0"), ("pivot", "0")]),
    Entry(name: "caf", summary: "covariance-bound agnostic filter (Allouah et al. 2025)", parameters: [("f", "0")]),
    Entry(name: "fltrust", summary: "trust scores against the root-dataset update (Cao et al. 2021)", parameters: []),
    Entry(name: "foolsgold", summary: "historical-similarity weights against Sybils (Fung et al. 2020)", parameters: [("kappa", "1")]),
    Entry(
      name: "dnc", summary: "divide-and-conquer spectral filtering (Shejwalkar & Houmansadr 2021)",
      parameters: [("f", "0"), ("niters", "5"), ("subsample", "10000"), ("c", "1")]),
    Entry(
      name: "signguard", summary: "norm filter + sign clustering + clipping (Xu et al. 2022)",
      parameters: [("lower", "0.1"), ("upper", "3"), ("coordinate_fraction", "0.1"), ("bandwidth", "estimated")]),
    Entry(
      name: "norm_bounding", summary: "clip to a norm bound, optional Gaussian noise (Sun et al. 2019)",
      parameters: [("norm_bound", "1"), ("sigma", "0")]),
    Entry(name: "flame", summary: "cosine clustering + adaptive clipping + noise (Nguyen et al. 2022)", parameters: [("lambda", "0.001")]),
  ]

  public static let preaggregators: [Entry] = [
    Entry(name: "nnm", summary: "nearest-neighbour mixing (Allouah et al. 2023)", parameters: [("f", "0")]),
    Entry(name: "bucketing", summary: "average random buckets of s (Karimireddy et al. 2022)", parameters: [("s", "2")]),
    Entry(name: "clipping", summary: "static clipping to norm c", parameters: [("c", "1")]),
    Entry(name: "arc", summary: "adaptive robust clipping (Allouah et al. 2024)", parameters: [("f", "0")]),
  ]

  /// Builds the aggregator `name` from its parameters; every mistake is an AggregationError
  /// that names the parameter and the constraint.
  public static func aggregator(_ name: String, _ values: [String: Double]) throws -> any Aggregator {
    var p = Parameters(rule: name, values)
    let rule: any Aggregator
    switch name {
    case "mean": rule = Mean()
    case "median": rule = CoordinateMedian()
    case "trimmed_mean": rule = try TrimmedMean(f: try p.int("f", default: 0, nonNegative))
    case "krum": rule = try Krum(f: try p.int("f", default: 0, nonNegative), m: 1)
    case "multi_krum":
      let f = try p.int("f", default: 0, nonNegative)
      let m = try p.int("m", default: 0) { $0 >= 1 ? nil : "must be >= 1" }
      rule = try Krum(f: f, m: p.values["m"] == nil ? nil : m)
    case "geometric_median":
      rule = try GeometricMedian(
        nu: try p.double("nu", default: 1e-6) { $0 > 0 ? nil : "must be > 0" },
        iterations: try p.int("iterations", default: 100) { $0 >= 1 ? nil : "must be >= 1" },
        tolerance: try p.double("tolerance", default: 1e-10) { $0 >= 0 ? nil : "must be >= 0" })
    case "bulyan": rule = try Bulyan(f: try p.int("f", default: 0, nonNegative))
    case "centered_clipping":
      rule = try CenteredClipping(
        tau: try p.double("tau", default: 10) { $0 > 0 ? nil : "must be > 0" },
        iterations: try p.int("iterations", default: 1) { $0 >= 1 ? nil : "must be >= 1" })
    case "mda": rule = try MDA(f: try p.int("f", default: 0, nonNegative))
    case "meamed": rule = try MeaMed(f: try p.int("f", default: 0, nonNegative))
    case "monna": rule = try MoNNA(f: try p.int("f", default: 0, nonNegative), pivot: try p.int("pivot", default: 0, nonNegative))
    case "caf": rule = try CAF(f: try p.int("f", default: 0, nonNegative))
    case "fltrust": rule = FLTrust()
    case "foolsgold": rule = try FoolsGold(kappa: try p.double("kappa", default: 1) { $0 > 0 ? nil : "must be > 0" })
    case "dnc":
      rule = try DnC(
        f: try p.int("f", default: 0, nonNegative),
        iterations: try p.int("niters", default: 5) { $0 >= 1 ? nil : "must be >= 1" },
        subsample: try p.int("subsample", default: 10_000) { $0 >= 1 ? nil : "must be >= 1" },
        filterFraction: try p.double("c", default: 1) { $0 > 0 ? nil : "must be > 0" })
    case "signguard":
      rule = try SignGuard(
        lower: try p.double("lower", default: 0.1) { $0 >= 0 ? nil : "must be >= 0" },
        upper: try p.double("upper", default: 3) { $0 > 0 ? nil : "must be > 0" },
        coordinateFraction: try p.double("coordinate_fraction", default: 0.1) { $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1]" },
        bandwidth: try p.double("bandwidth", default: 0) { $0 >= 0 ? nil : "must be >= 0" })
    case "norm_bounding":
      rule = try NormBounding(
        bound: try p.double("norm_bound", default: 1) { $0 > 0 ? nil : "must be > 0" },
        sigma: try p.double("sigma", default: 0) { $0 >= 0 ? nil : "must be >= 0" })
    case "flame": rule = try FLAME(lambda: try p.double("lambda", default: 0.001) { $0 >= 0 ? nil : "must be >= 0" })
    default:
      throw AggregationError("unknown aggregator '\(name)': one of \(aggregators.map(\.name).joined(separator: ", "))")
    }
    try p.finish()
    return rule
  }

  public static func preaggregator(_ name: String, _ values: [String: Double]) throws -> any PreAggregator {
    var p = Parameters(rule: name, values)
    let rule: any PreAggregator
    switch name {
    case "nnm": rule = try NNM(f: try p.int("f", default: 0, nonNegative))
    case "bucketing": rule = try Bucketing(s: try p.int("s", default: 2) { $0 >= 1 ? nil : "must be >= 1" })
    case "clipping": rule = try StaticClipping(c: try p.double("c", default: 1) { $0 > 0 ? nil : "must be > 0" })
    case "arc": rule = try ARC(f: try p.int("f", default: 0, nonNegative))
    default:
      throw AggregationError("unknown pre-aggregator '\(name)': one of \(preaggregators.map(\.name).joined(separator: ", "))")
    }
    try p.finish()
    return rule
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
