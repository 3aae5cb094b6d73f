import Testing
@testable import Aggregation
@testable import Tensor

/// Properties that hold for every rule: constraints explained, identical rows reproduced,
/// permutation invariance, outliers bounded, hostile rows screened out.
@Suite struct PropertyTests {
  static let names = AggregationRegistry.aggregators.names

  static func params(_ name: String, f: Int, n: Int = 10) -> [String: Double] {
    switch name {
    case "bulyan": return ["f": Double(min(f, (n - 3) / 4))]
    case "trimmed_mean", "krum", "mda", "meamed", "monna", "caf", "dnc": return ["f": Double(f)]
    case "multi_krum": return ["f": Double(f)]
    case "flame": return ["lambda": 0]
    case "norm_bounding": return ["norm_bound": 1e6]
    case "centered_clipping": return ["tau": 1e6]
    default: return [:]
    }
  }

  static func honest(_ n: Int, d: Int, seed: UInt64) -> [[Float]] {
    var r = RandomStream(seed: seed)
    return (0..<n).map { _ in (0..<d).map { _ in Float(0.5 + 0.3 * r.nextNormal()) } }
  }

  static func context(_ x: UpdateMatrix) -> RoundContext {
    // FLTrust's root update: the honest mean direction.
    RoundContext(round: 1, seed: 9, reference: x.mean())
  }

  @Test(arguments: names)
  func identicalRowsGiveThatRow(name: String) throws {
    var rule = try AggregationRegistry.aggregator(name, Self.params(name, f: 1))
    let row: [Float] = [0.5, -1.25, 3, 0.125]
    let x = UpdateMatrix([[Float]](repeating: row, count: 7))
    let out = try rule.aggregate(x, context: Self.context(x)).vector
    if name == "foolsgold" {
      // Identical histories are maximally similar: FoolsGold gives every Sybil weight 0.
      #expect(out == [0, 0, 0, 0])
    } else {
      #expect(zip(out, row).allSatisfy { abs($0 - $1) < 1e-5 }, "\(name): \(out)")
    }
  }

  @Test(arguments: names.filter { !["foolsgold", "monna", "dnc", "signguard"].contains($0) })
  func permutationInvariant(name: String) throws {
    let rows = Self.honest(9, d: 6, seed: 4)
    let x = UpdateMatrix(rows)
    let perm = [3, 0, 8, 1, 7, 2, 6, 4, 5]
    let y = UpdateMatrix(perm.map { rows[$0] })
    var a = try AggregationRegistry.aggregator(name, Self.params(name, f: 2, n: 9))
    var b = try AggregationRegistry.aggregator(name, Self.params(name, f: 2, n: 9))
    let ra = try a.aggregate(x, context: Self.context(x)).vector
    let rb = try b.aggregate(y, context: Self.context(y)).vector
    #expect(zip(ra, rb).allSatisfy { abs($0 - $1) < 1e-5 }, "\(name): \(ra) vs \(rb)")
  }

  /// With f far outliers, the robust rules stay inside the honest rows' bounding box.
  @Test(arguments: ["median", "trimmed_mean", "krum", "multi_krum", "bulyan", "geometric_median", "meamed", "mda", "caf", "dnc", "monna"])
  func outliersStayOutside(name: String) throws {
    let f = 3
    let honest = Self.honest(12, d: 5, seed: 11)
    let bad: [[Float]] = (0..<f).map { k in [Float](repeating: 1e4 * Float(k + 1), count: 5) }
    let x = UpdateMatrix(honest + bad)
    var rule = try AggregationRegistry.aggregator(name, Self.params(name, f: f, n: 15))
    let out = try rule.aggregate(x, context: Self.context(x)).vector
    for j in 0..<5 {
      let lo = honest.map { $0[j] }.min()!, hi = honest.map { $0[j] }.max()!
      #expect(out[j] >= lo - 1e-4 && out[j] <= hi + 1e-4, "\(name) coordinate \(j): \(out[j]) outside [\(lo), \(hi)]")
    }
  }

  /// The same at the largest norm an update may have (UpdateScreen.maxNormBound): every rule
  /// stays exact there. The geometric median was taken over by 3 of 10 rows at norm 1e12 when
  /// its stopping rule was RFA's relative objective change.
  @Test(arguments: ["median", "trimmed_mean", "krum", "multi_krum", "bulyan", "geometric_median", "meamed", "mda", "caf", "dnc", "monna"])
  func outliersAtTheNormBoundStayOutside(name: String) throws {
    let f = 3, d = 5
    let honest = Self.honest(12, d: d, seed: 12)
    let perCoordinate = Float(UpdateScreen.maxNormBound / Double(d).squareRoot())
    let bad: [[Float]] = (0..<f).map { k in (0..<d).map { j in perCoordinate * (j % 2 == 0 ? 1 : -1) * (0.999 - 0.01 * Float(k)) } }
    let x = UpdateMatrix(honest + bad)
    #expect(UpdateScreen.screen(x, maxNorm: UpdateScreen.maxNormBound).rejected.isEmpty)
    var rule = try AggregationRegistry.aggregator(name, Self.params(name, f: f, n: 15))
    let out = try rule.aggregate(x, context: Self.context(x)).vector
    for j in 0..<d {
      let lo = honest.map { $0[j] }.min()!, hi = honest.map { $0[j] }.max()!
      #expect(out[j] >= lo - 1e-4 && out[j] <= hi + 1e-4, "\(name) coordinate \(j): \(out[j]) outside [\(lo), \(hi)]")
    }
  }

  /// The case that broke the geometric median: 7 honest rows and 3 at norm 1e9, 1e12 and the bound.
  @Test(arguments: [1e9, 1e12, UpdateScreen.maxNormBound])
  func geometricMedianIgnoresThreeHugeRowsOfTen(norm: Double) throws {
    let honest = Self.honest(7, d: 4, seed: 21)
    let v = Float(norm / 2)
    let x = UpdateMatrix(honest + [[v, v, v, v], [v, -v, v, -v], [-v, v, v, v]])
    let out = try GeometricMedian().aggregate(x, context: RoundContext()).vector
    for j in 0..<4 {
      let lo = honest.map { $0[j] }.min()!, hi = honest.map { $0[j] }.max()!
      #expect(out[j] >= lo && out[j] <= hi, "norm \(norm) coordinate \(j): \(out[j]) outside [\(lo), \(hi)]")
    }
  }

  /// Centered clipping's bound (Karimireddy et al. 2021): one step moves at most τ from the centre.
  @Test func centeredClippingMovesAtMostTau() throws {
    var cc = try CenteredClipping(tau: 0.5)
    let x = UpdateMatrix(Self.honest(10, d: 4, seed: 2) + [[Float](repeating: 1e5, count: 4)])
    let out = try cc.aggregate(x, context: RoundContext()).vector
    #expect(out.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() <= 0.5 + 1e-5)
  }

  @Test(arguments: names)
  func hostileRowsAreScreenedAndNeverPropagate(name: String) throws {
    var rows = Self.honest(10, d: 4, seed: 3)
    rows.append([.nan, 0, 0, 0])
    rows.append([0, .infinity, 0, 0])
    rows.append([1e30, 1e30, 0, 0])
    let (kept, rejected) = UpdateScreen.screen(UpdateMatrix(rows), maxNorm: 1e6)
    #expect(rejected.map(\.0) == [10, 11, 12])
    #expect(rejected.map(\.1.rawValue) == ["non_finite", "non_finite", "norm_too_large"])
    let x = try #require(kept)
    var rule = try AggregationRegistry.aggregator(name, Self.params(name, f: 2))
    let out = try rule.aggregate(x, context: Self.context(x)).vector
    #expect(out.allSatisfy { $0.isFinite && abs($0) < 10 }, "\(name): \(out)")
  }

  @Test func constraintsAreSpelledOut() throws {
    #expect(try AggregationRegistry.aggregator("krum", ["f": 4]).problem(n: 10) == "Krum needs n > 2f + 2: got n=10, f=4")
    #expect(try AggregationRegistry.aggregator("bulyan", ["f": 3]).problem(n: 14)?.contains("n >= 4f + 3") == true)
    #expect(try AggregationRegistry.aggregator("trimmed_mean", ["f": 5]).problem(n: 10)?.contains("n > 2f") == true)
    #expect(throws: AggregationError.self) { try AggregationRegistry.aggregator("krum", ["g": 1]) }
    #expect(throws: AggregationError.self) { try AggregationRegistry.aggregator("krum", ["f": 1.5]) }
    #expect(throws: AggregationError.self) { try AggregationRegistry.aggregator("nope", [:]) }
    let p = AggregationPipeline(preaggregators: [try Bucketing(s: 2)], aggregator: try Krum(f: 1))
    #expect(p.problem(n: 8) == "Krum needs n > 2f + 2: got n=4, f=1")
    let fl = FLTrust()
    #expect(throws: AggregationError.self) { try fl.aggregate(UpdateMatrix([[1, 2]]), context: RoundContext()) }
  }
}

@Suite struct EigenTests {
  /// Power iteration (used above 24 rows) agrees with the Jacobi decomposition on a Gram matrix.
  @Test func powerIterationMatchesJacobi() {
    let x = UpdateMatrix(PropertyTests.honest(30, d: 12, seed: 8))
    let g = x.gram()
    let (values, vectors) = SymmetricEigen.decompose(g, 30)
    let top = values.indices.max { values[$0] < values[$1] }!
    let (lambda, v) = SymmetricEigen.power(g, 30)
    #expect(abs(lambda - values[top]) <= 1e-8 * values[top])
    let dot = (0..<30).reduce(0.0) { $0 + v[$1] * vectors[$1 * 30 + top] }
    #expect(abs(abs(dot) - 1) < 1e-6)
  }
}

@Suite struct SortingNetworkTests {
  /// The SIMD network path equals the scalar selection path for median, trimmed mean and the
  /// mean around the median, for n up to 128 and a d that is not a multiple of 16 and spans
  /// several of the network's column tiles (2,048 columns for n ≤ 32, 512 for n = 128).
  @Test(arguments: [5, 13, 37, 64, 100, 128])
  func networkMatchesScalarSelection(n: Int) {
    let x = UpdateMatrix(PropertyTests.honest(n, d: 16 * 300 + 5, seed: UInt64(n)))
    let f = n / 5
    let netMedian = SortingNetwork.map(x, rows: nil, reduce: SortingNetwork.median) { v, n in Selection.median(v, n) }
    let scalarMedian = CoordinateWise.map(x) { v, n in Selection.median(v, n) }
    #expect(zip(netMedian, scalarMedian).allSatisfy { abs($0 - $1) <= 1e-6 })
    let netTrim = SortingNetwork.map(x, rows: nil, reduce: { SortingNetwork.trimmedMean($0, $1, f: f) }) { _, _ in 0 }
    let scalarTrim = CoordinateWise.map(x) { v, n in
      Selection.insertionSort(v, n)
      return Float((f..<(n - f)).reduce(0.0) { $0 + Double(v[$1]) } / Double(n - 2 * f))
    }
    #expect(zip(netTrim.prefix(48), scalarTrim.prefix(48)).allSatisfy { abs($0 - $1) <= 1e-5 })
    let netMM = SortingNetwork.map(x, rows: nil, reduce: { SortingNetwork.closestToMedian($0, $1, k: n - f) }) { v, n in
      MeaMed.scalarClosestToMedian(v, n, keep: n - f)
    }
    let scalarMM = CoordinateWise.map(x) { v, n in MeaMed.scalarClosestToMedian(v, n, keep: n - f) }
    #expect(zip(netMM, scalarMM).allSatisfy { abs($0 - $1) <= 1e-5 })
  }

  /// Batcher's network for 65–128 rows is the 64-row network beside the (n − 64)-row one, shifted
  /// by 64 — no comparator crosses the two before the last stage — then `comparators(n, fromStage:
  /// 64)`: what the AVX-512 path runs as two unrolled sorts and a merge, giving the same bits.
  @Test(arguments: [65, 66, 100, 127, 128])
  func networksOverSixtyFourRowsAreTwoSortsThenTheirMerge(n: Int) {
    func flat(_ c: [(Int, Int)]) -> [Int] { c.flatMap { [$0.0, $0.1] } }
    let full = SortingNetwork.comparators(n), merge = SortingNetwork.comparators(n, fromStage: 64)
    #expect(!merge.isEmpty && flat(Array(full.suffix(merge.count))) == flat(merge))
    let head = Array(full.dropLast(merge.count))
    #expect(head.allSatisfy { $0.1 < 64 || $0.0 >= 64 })
    #expect(flat(head.filter { $0.1 < 64 }) == flat(SortingNetwork.comparators(64)))
    #expect(flat(head.filter { $0.0 >= 64 }.map { ($0.0 - 64, $0.1 - 64) }) == flat(SortingNetwork.comparators(n - 64)))
  }

  /// Every SIMD level this CPU runs (AVX2, AVX-512F in C) gives the baseline Swift network's
  /// bits exactly, for all three reductions: on values with many ties, +0 and −0 among them
  /// (where a min/max with its operands the other way round would pick the other zero).
  @Test(arguments: [2, 3, 8, 13, 24, 50, 64, 65, 100, 128])
  func everySIMDLevelGivesTheBaselineBits(n: Int) {
    let d = 16 * 200 + 5  // several column tiles
    var rng = RandomStream(seed: UInt64(n), purpose: .benchmark)
    let values: [Float] = [0, -0.0, 1, -1, 0.5, -0.5, 2]
    let data = (0..<(n * d)).map { k in k % 3 == 0 ? values[rng.nextInt(below: values.count)] : Float(rng.nextNormal()) }
    let x = UpdateMatrix(rows: n, cols: d, data: data)
    let f = (n - 1) / 4
    func run(_ level: SortingNetwork.Level) -> [[UInt32]] {
      let median = SortingNetwork.map(x, rows: nil, level: level, fused: .median, reduce: SortingNetwork.median) { v, n in
        Selection.median(v, n)
      }
      let trim = SortingNetwork.map(
        x, rows: nil, level: level, fused: .trimmedMean(f: f), reduce: { SortingNetwork.trimmedMean($0, $1, f: f) }
      ) {
        _, _ in 0
      }
      // The Swift reductions after the C network (no fused kernel) give the same bits as well.
      let unfused = SortingNetwork.map(x, rows: nil, level: level, reduce: { SortingNetwork.trimmedMean($0, $1, f: f) }) { _, _ in 0 }
      #expect(unfused.map(\.bitPattern) == trim.map(\.bitPattern), "\(level.name), n = \(n): the fused trimmed mean")
      let rows = Array(stride(from: n - 1, through: 0, by: -1))
      let meamed = SortingNetwork.map(
        x, rows: rows, level: level, fused: .closestToMedian(k: n - f), reduce: { SortingNetwork.closestToMedian($0, $1, k: n - f) }
      ) { v, n in MeaMed.scalarClosestToMedian(v, n, keep: n - f) }
      // All rows in order (read in place, not through tiles), with a narrower window.
      let inPlace = SortingNetwork.map(
        x, rows: nil, level: level, fused: .closestToMedian(k: n - 2 * f), reduce: { SortingNetwork.closestToMedian($0, $1, k: n - 2 * f) }
      ) { v, n in MeaMed.scalarClosestToMedian(v, n, keep: n - 2 * f) }
      return [median, trim, meamed, inPlace].map { $0.map(\.bitPattern) }
    }
    let baseline = run(.baseline)
    // The ties matter: from 13 rows on, some medians are a zero of one sign or the other.
    if n >= 13 { #expect(baseline[0].contains(Float(-0.0).bitPattern) || baseline[0].contains(Float(0).bitPattern)) }
    for level in SortingNetwork.Level.allCases where level != .baseline && level.rawValue <= SortingNetwork.Level.best.rawValue {
      let differing = zip(run(level), baseline).map { zip($0, $1).filter { $0 != $1 }.count }
      #expect(differing == [0, 0, 0, 0], "\(level.name), n = \(n): coordinates with other bits (median, trimmed mean, MeaMed ×2)")
    }
  }

  /// A large matrix's columns split over threads (`SortingNetwork.threads` by default) give the
  /// bits of one thread, tiles in place and copied, with a partial last tile and scalar tail;
  /// the parts cover the columns once, in order, in whole tiles.
  @Test(arguments: [(13, 161_400), (100, 21_000)])
  func columnsSplitOverThreadsGiveTheBitsOfOne(n: Int, d: Int) {
    var rng = RandomStream(seed: UInt64(d), purpose: .benchmark)
    let x = UpdateMatrix(rows: n, cols: d, data: (0..<(n * d)).map { _ in Float(rng.nextNormal()) })
    let f = (n - 1) / 4
    let reversed = Array(stride(from: n - 1, through: 0, by: -1))
    func run(_ threads: Int) -> [[UInt32]] {
      let median = SortingNetwork.map(x, rows: nil, fused: .median, threads: threads, reduce: SortingNetwork.median) { v, n in
        Selection.median(v, n)
      }
      let trim = SortingNetwork.map(
        x, rows: reversed, fused: .trimmedMean(f: f), threads: threads, reduce: { SortingNetwork.trimmedMean($0, $1, f: f) }
      ) { _, _ in 0 }
      return [median, trim].map { $0.map(\.bitPattern) }
    }
    let one = run(1)
    for threads in [2, 3] { #expect(run(threads) == one, "\(threads) threads, n = \(n)") }
    let full = d / 16 * 16, width = 640
    let parts = SortingNetwork.columnParts(full: full, n: n, tileWidth: width, threads: 3)
    #expect(parts.count == 3 * SortingNetwork.partsPerThread && parts.first?.lowerBound == 0 && parts.last?.upperBound == full)
    #expect(zip(parts, parts.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && $0.upperBound % width == 0 })
    #expect(SortingNetwork.columnParts(full: 4096, n: 13, tileWidth: width, threads: 3) == [0..<4096], "a small matrix stays one part")
    #expect(SortingNetwork.columnParts(full: full, n: n, tileWidth: width, threads: 1) == [0..<full], "one thread, one part")
  }
}
