import Testing
@testable import Aggregation

/// The worked examples of the doc comments, computed by hand.
@Suite struct WorkedExampleTests {
  func agg(_ rule: any Aggregator, _ rows: [[Float]], samples: [Int]? = nil, context: RoundContext = RoundContext()) throws -> [Float] {
    var r = rule
    return try r.aggregate(UpdateMatrix(rows, samples: samples), context: context).vector
  }
  func near(_ a: [Float], _ b: [Float], _ tol: Float = 1e-4) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol } }

  let x3: [[Float]] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]

  @Test func mean() throws { #expect(near(try agg(Mean(), x3, samples: [1, 1, 2]), [4.75, 5.75, 6.75])) }
  @Test func median() throws { #expect(try agg(CoordinateMedian(), [[1, 2, 3], [4, 5, 6], [7, 8, 90]]) == [4, 5, 6]) }
  @Test func medianEvenCount() throws { #expect(try agg(CoordinateMedian(), [[1], [2], [10], [20]]) == [6]) }
  @Test func trimmedMean() throws { #expect(try agg(TrimmedMean(f: 1), [[1, 2, 3], [4, 5, 60], [7, 8, 9]]) == [4, 5, 9]) }
  @Test func meamed() throws { #expect(near(try agg(MeaMed(f: 1), [[1, 2, 3], [4, 5, 6], [8, 9, 90]]), [2.5, 3.5, 4.5])) }
  @Test func krumAndMultiKrum() throws {
    let r: [[Float]] = [[0, 0], [1, 0], [5, 0]]
    #expect(try agg(Krum(f: 0), r) == [0, 0])
    #expect(near(try agg(Krum(f: 0, m: 2), r), [0.5, 0]))
  }
  @Test func geometricMedianIsTheFermatPoint() throws {
    let t = Float(1 - 1 / 3.0.squareRoot())
    #expect(near(try agg(GeometricMedian(), [[0, 0], [2, 0], [0, 2]]), [t, t], 1e-4))
  }
  @Test func bulyanWithoutFaultsIsTheMean() throws { #expect(near(try agg(Bulyan(f: 0), [[1, 2], [3, 4], [5, 9]]), [3, 5])) }
  @Test func mda() throws { #expect(near(try agg(MDA(f: 1), [[0, 0], [1, 0], [9, 0]]), [0.5, 0])) }
  @Test func monna() throws { #expect(near(try agg(MoNNA(f: 1), [[0, 0], [1, 0], [9, 0]]), [0.5, 0])) }
  @Test func caf() throws { #expect(near(try agg(CAF(f: 1), x3), [4, 5, 6])) }
  @Test func centeredClipping() throws { #expect(near(try agg(CenteredClipping(tau: 1), [[3, 4], [0, 0.5]]), [0.3, 0.65])) }
  @Test func normBounding() throws { #expect(near(try agg(NormBounding(bound: 1), [[3, 4], [0, 0.5]]), [0.3, 0.65])) }
  @Test func fltrust() throws {
    let out = try agg(FLTrust(), [[2, 0], [3, 4], [-1, 0]], context: RoundContext(reference: [1, 0]))
    #expect(near(out, [0.85, 0.3]))
    // Each worker's weight is its share of the trust (TS 1, 0.6, 0 of 1.6), summing to 1.
    let rule = FLTrust()
    let w = try #require(try rule.aggregate(UpdateMatrix([[2, 0], [3, 4], [-1, 0]]), context: RoundContext(reference: [1, 0])).weights)
    #expect(zip(w, [0.625, 0.375, 0]).allSatisfy { abs($0 - $1) < 1e-12 })
    #expect(abs(w.reduce(0, +) - 1) < 1e-12)
  }
  @Test func foolsgoldDropsSybils() throws { #expect(near(try agg(FoolsGold(), [[1, 0], [1, 0], [0, 1]]), [0, 1])) }
  @Test func dnc() throws {
    #expect(near(try agg(DnC(f: 1, subsample: 2), [[0, 0], [1, 0], [0, 1], [10, 10]]), [1.0 / 3, 1.0 / 3]))
  }
  @Test func signguard() throws {
    #expect(near(try agg(SignGuard(coordinateFraction: 1), [[1, 1], [1, 2], [2, 1], [-50, -50]]), [4.0 / 3, 4.0 / 3]))
  }
  @Test func flame() throws {
    #expect(near(try agg(FLAME(lambda: 0), [[1, 0], [1, 0.1], [0.9, 0], [-1, 0]]), [0.965012, 0.033168]))
  }
  @Test func preaggregators() throws {
    let ctx = RoundContext()
    let nnm = try NNM(f: 1).transform(UpdateMatrix(x3), context: ctx)
    #expect(nnm.row(0) == [2.5, 3.5, 4.5] && nnm.row(1) == [2.5, 3.5, 4.5] && nnm.row(2) == [5.5, 6.5, 7.5])
    let b = Bucketing.buckets(UpdateMatrix([[1, 2], [3, 4], [5, 6]]), order: [0, 1, 2], s: 2)
    #expect(b.rows == 2 && b.row(0) == [2, 3] && b.row(1) == [5, 6])
    let c = try StaticClipping(c: 1).transform(UpdateMatrix([[3, 4], [0, 0.5]]), context: ctx)
    #expect(near(c.row(0), [0.6, 0.8]) && c.row(1) == [0, 0.5])
    let a = try ARC(f: 1).transform(UpdateMatrix(x3), context: ctx)
    #expect(a.row(0) == [1, 2, 3] && a.row(1) == [4, 5, 6] && near(a.row(2), [4.410, 5.040, 5.670], 1e-3))
  }
}
