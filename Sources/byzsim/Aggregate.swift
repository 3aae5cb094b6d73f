import Aggregation
import Data
import ArgumentParser
import Foundation

/// `byzsim aggregate`: run any rule on the user's own n×d CSV of updates.
struct Aggregate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Aggregate an n×d CSV of updates (one per line, no header) with any rule; prints one CSV line.",
    discussion: """
      Examples:
        byzsim aggregate --rule krum --f 2 --input updates.csv
        byzsim aggregate --rule trimmed_mean --f 1 --pre nnm --pre clipping:c=5 --input updates.csv
        byzsim aggregate --rule fltrust --reference root.csv --input updates.csv
        byzsim aggregate --list
      --f is passed to the rule and to pre-aggregators that take f (nnm, arc). Rows with NaN, ±Inf
      or a norm above --max-norm are dropped and reported on stderr.
      """)

  @Option(help: "The aggregation rule (see --list).")
  var rule: String?
  @Option(help: "The declared number of Byzantine inputs f.")
  var f: Int?
  @Option(name: .customLong("param"), help: "A rule parameter as key=value (repeatable), e.g. --param tau=5.")
  var params: [String] = []
  @Option(name: .customLong("pre"), help: "A pre-aggregator, NAME or NAME:key=value,key=value (repeatable, applied in order).")
  var pre: [String] = []
  @Option(help: "The CSV file of updates ('-' for stdin).")
  var input: String?
  @Option(help: "FLTrust: a one-line CSV with the root-dataset update.")
  var reference: String?
  @Option(help: "Seed and round for rules with random choices (bucketing, DnC, SignGuard, noise).")
  var seed: UInt64 = 0
  @Option(help: "Round number passed to the rule.")
  var round: Int = 0
  @Option(help: "Rows with a larger Euclidean norm are rejected (at most 1e15, where every rule stays exact).")
  var maxNorm: Double = UpdateScreen.maxNormBound
  @Flag(help: "List every rule and pre-aggregator with its parameters.")
  var list = false

  func validate() throws {
    if list { return }
    guard rule != nil else { throw ValidationError("--rule is required (see byzsim aggregate --list).") }
    guard input != nil else { throw ValidationError("--input is required: an n×d CSV file, one update per line.") }
    if let f, f < 0 { throw ValidationError("--f must be >= 0: got \(f).") }
    guard maxNorm > 0, maxNorm <= UpdateScreen.maxNormBound else {
      throw ValidationError("--max-norm must be in (0, \(UpdateScreen.maxNormBound)]: got \(maxNorm).")
    }
  }

  static func parsePairs(_ items: [String], what: String) throws -> [String: Double] {
    var out: [String: Double] = [:]
    for item in items where !item.isEmpty {
      let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard kv.count == 2, let v = Double(kv[1]) else {
        throw ValidationError("\(what) '\(item)' is not key=number (e.g. tau=5).")
      }
      out[kv[0]] = v
    }
    return out
  }

  func run() throws {
    if list {
      print("Aggregators:")
      AggregationRegistry.aggregators.listing.forEach { print($0) }
      print("Pre-aggregators (--pre):")
      AggregationRegistry.preaggregators.listing.forEach { print($0) }
      return
    }
    var ruleParams = try Self.parsePairs(params, what: "--param")
    if let f { ruleParams["f"] = Double(f) }
    let aggregator: any Aggregator
    var chain: [any PreAggregator] = []
    do {
      aggregator = try AggregationRegistry.aggregator(rule!, ruleParams)
      for spec in pre {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        var p = try Self.parsePairs(parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : [], what: "--pre \(parts[0])")
        if let f, ["nnm", "arc"].contains(parts[0]), p["f"] == nil { p["f"] = Double(f) }
        chain.append(try AggregationRegistry.preaggregator(parts[0], p))
      }
    } catch let e as AggregationError {
      throw UserError(e.message)
    }
    let rows = try UpdatesCSV.read(input!)
    let matrix = UpdateMatrix(rows)
    let (kept, rejected) = UpdateScreen.screen(matrix, maxNorm: maxNorm)
    for (i, why) in rejected {
      FileHandle.standardError.write(Data("byzsim aggregate: \(input!): line \(i + 1) rejected (\(why.rawValue))\n".utf8))
    }
    guard let x = kept else { throw UserError("\(input!): every row was rejected; nothing to aggregate.") }
    var pipeline = AggregationPipeline(preaggregators: chain, aggregator: aggregator)
    if let why = pipeline.problem(n: x.rows) { throw UserError("\(why) (\(x.rows) valid rows in \(input!)).") }
    var ref: [Float]?
    if let reference {
      let r = try UpdatesCSV.read(reference)
      guard r.count == 1, r[0].count == x.cols else {
        throw UserError("\(reference): expected one line of \(x.cols) numbers, found \(r.count) line(s) of \(r.first?.count ?? 0).")
      }
      ref = r[0]
    }
    let result: AggregationResult
    do {
      result = try pipeline.run(x, context: RoundContext(round: round, seed: seed, reference: ref))
    } catch let e as AggregationError {
      throw UserError(e.message)
    }
    print(result.vector.map { "\($0)" }.joined(separator: ","))
  }
}

/// Reads the updates CSV of a file or of standard input.
enum UpdatesCSV {
  static func read(_ path: String) throws -> [[Float]] {
    let data: Data
    if path == "-" {
      data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
      guard let d = FileManager.default.contents(atPath: path) else { throw UserError("\(path): cannot read the file.") }
      data = d
    }
    do {
      return try CSVMatrix.parse([UInt8](data), path: path == "-" ? "(stdin)" : path)
    } catch let e as CSVMatrix.Error {
      throw UserError(e.description)
    }
  }
}
