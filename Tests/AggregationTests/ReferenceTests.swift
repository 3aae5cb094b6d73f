import Foundation
import Testing
@testable import Aggregation

/// Every rule against vectors from an independent NumPy/SciPy implementation
/// (Fixtures/reference.py, its output committed beside it as expected.json).
@Suite struct ReferenceTests {
  struct Fixture: Decodable {
    let samples: [Int]
    let reference: [Double]
    let expected: [String: [Double]]
  }

  static let inputs: UpdateMatrix = {
    let url = Bundle.module.url(forResource: "inputs", withExtension: "csv", subdirectory: "Fixtures")!
    let rows = try! String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
      $0.split(separator: ",").map { Float(String($0))! }
    }
    return UpdateMatrix(rows)
  }()

  static let fixture: Fixture = {
    let url = Bundle.module.url(forResource: "expected", withExtension: "json", subdirectory: "Fixtures")!
    return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
  }()

  static func close(_ a: [Float], _ b: [Double], _ name: String) {
    #expect(a.count == b.count, "\(name): length")
    var worst = 0.0
    for (x, y) in zip(a, b) { worst = max(worst, abs(Double(x) - y) / max(1, abs(y))) }
    #expect(worst < 1e-5, "\(name): max relative error \(worst)")
  }

  static func run(_ rule: any Aggregator, _ x: UpdateMatrix, context: RoundContext = RoundContext()) throws -> [Float] {
    var r = rule
    return try r.aggregate(x, context: context).vector
  }

  @Test(arguments: [
    ("mean", "mean", [String: Double]()), ("median", "median", [:]), ("trimmed_mean", "trimmed_mean", ["f": 3]),
    ("krum", "krum", ["f": 3]), ("multi_krum", "multi_krum", ["f": 3]), ("geometric_median", "geometric_median", [:]),
    ("bulyan_f2", "bulyan", ["f": 2]), ("mda", "mda", ["f": 3]), ("meamed", "meamed", ["f": 3]),
    ("monna", "monna", ["f": 3]), ("caf", "caf", ["f": 3]), ("dnc", "dnc", ["f": 3, "subsample": 100]),
    ("norm_bounding", "norm_bounding", ["norm_bound": 2]), ("flame", "flame", ["lambda": 0]),
    ("signguard", "signguard", ["coordinate_fraction": 1]),
  ])
  func matchesReference(key: String, rule: String, params: [String: Double]) throws {
    var x = Self.inputs
    x.samples = Self.fixture.samples
    let out = try Self.run(try AggregationRegistry.aggregator(rule, params), x)
    Self.close(out, Self.fixture.expected[key]!, key)
  }

  @Test func fltrustMatchesReference() throws {
    let ctx = RoundContext(reference: Self.fixture.reference.map(Float.init))
    Self.close(try Self.run(FLTrust(), Self.inputs, context: ctx), Self.fixture.expected["fltrust"]!, "fltrust")
  }

  @Test func statefulRulesMatchReferenceOverTwoRounds() throws {
    let x = Self.inputs
    let reversed = x.selecting(Array((0..<x.rows).reversed()))
    let round2 = UpdateMatrix(rows: x.rows, cols: x.cols, data: reversed.data)  // worker i sends row 12 − i
    var cc = try CenteredClipping(tau: 5)
    Self.close(try cc.aggregate(x, context: RoundContext()).vector, Self.fixture.expected["centered_clipping_round1"]!, "cc round 1")
    Self.close(try cc.aggregate(round2, context: RoundContext()).vector, Self.fixture.expected["centered_clipping_round2"]!, "cc round 2")
    var fg = try FoolsGold()
    Self.close(try fg.aggregate(x, context: RoundContext()).vector, Self.fixture.expected["foolsgold_round1"]!, "foolsgold round 1")
    Self.close(try fg.aggregate(round2, context: RoundContext()).vector, Self.fixture.expected["foolsgold_round2"]!, "foolsgold round 2")
  }

  @Test func preaggregatorsMatchReference() throws {
    for (key, pre) in [("nnm_then_mean", try NNM(f: 3) as any PreAggregator), ("arc_then_mean", try ARC(f: 3))] {
      var p = AggregationPipeline(preaggregators: [pre], aggregator: try AggregationRegistry.aggregator("median", [:]))
      p.aggregator = try AggregationRegistry.aggregator("mean", [:])
      Self.close(try p.run(Self.inputs, context: RoundContext()).vector, Self.fixture.expected[key]!, key)
    }
  }
}
