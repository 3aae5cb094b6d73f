import Foundation
import Runtime
import TOML

/// A paper reproduction (experiments/papers/NAME.toml): a sweep plus the paper's citation, a
/// [quick] scale-down, and claims. A claim is either a published number for one cell
///
///     [[claims]]
///     source = "Table 2(c)"
///     cell = "c004"
///     metric = "error"          # accuracy, error (= 1 − accuracy) or attack_success
///     paper = 0.26
///     tolerance = 0.05          # reproduced when |ours − paper| ≤ tolerance
///
/// or an inequality over cells' mean results (qualitative papers):
///
///     [[claims]]
///     source = "Fig. 2"
///     text = "ALIE cuts trimmed mean far more than sign flipping"
///     holds = "acc(c001) - acc(c002) >= 0.05"   # acc, err, asr of cells; + - numbers; >= <= > <
public struct Reproduction: Sendable {
  public struct Claim: Sendable {
    public let source: String
    public let text: String
    public let cell: String?
    public let metric: String?
    public let paper: Double?
    public let tolerance: Double?
    public let holds: String?
  }

  public let name: String
  public let title: String
  public let sweep: SweepSpec
  public let claims: [Claim]
  public let quickNote: String?
  public let notes: String?

  public static let directory = "experiments/papers"

  /// The paper files in `dir`: .toml files with a [paper] table (base topologies are not listed).
  public static func list(in dir: String = directory) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { name in
      name.hasSuffix(".toml")
        && ((try? String(contentsOfFile: (dir as NSString).appendingPathComponent(name), encoding: .utf8))?.contains("[paper]") ?? false)
    }.map { String($0.dropLast(5)) }.sorted()
  }

  public static func load(_ name: String, in dir: String = directory, quick: Bool) throws -> Reproduction {
    let file = (dir as NSString).appendingPathComponent(name + ".toml")
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw RuntimeError("no reproduction '\(name)' in \(dir) (available: \(list(in: dir).joined(separator: ", ")))")
    }
    let root = try Topology.parse(text, file: file)
    let sweep = try SweepSpec.decode(table: root, file: file, extraKeys: ["paper", "quick", "claims"], quick: quick)
    guard case let .table(paper)? = root["paper"]?.value, case let .string(title)? = paper["title"]?.value else {
      throw TopologyError(file: file, line: 1, key: "paper.title", message: "missing: add [paper] title = \"Authors Year, Title, Venue\"")
    }
    var quickNote: String?
    if case let .string(q)? = paper["quick"]?.value { quickNote = q }
    var notes: String?
    if case let .string(n)? = paper["notes"]?.value { notes = n }
    var claims: [Claim] = []
    if case let .array(items)? = root["claims"]?.value {
      for item in items {
        guard case let .table(t) = item.value else { continue }
        func str(_ k: String) -> String? { if case let .string(s)? = t[k]?.value { return s }; return nil }
        func num(_ k: String) -> Double? {
          switch t[k]?.value {
          case let .float(d)?: return d;
          case let .integer(i)?: return Double(i);
          default: return nil
          }
        }
        let claim = Claim(
          source: str("source") ?? "", text: str("text") ?? "", cell: str("cell"), metric: str("metric"),
          paper: num("paper"), tolerance: num("tolerance"), holds: str("holds"))
        guard (claim.cell != nil && claim.paper != nil && claim.tolerance != nil) || claim.holds != nil else {
          throw TopologyError(
            file: file, line: item.line, key: "claims", message: "a claim needs cell, metric, paper and tolerance, or holds = \"…\"")
        }
        if let c = claim.cell, !sweep.cells.contains(where: { $0.id == c }) {
          throw TopologyError(
            file: file, line: item.line, key: "claims.cell",
            message: "no cell \(c) (cells: \(sweep.cells.map(\.id).joined(separator: ", ")))")
        }
        claims.append(claim)
      }
    }
    return Reproduction(name: name, title: title, sweep: sweep, claims: claims, quickNote: quickNote, notes: notes)
  }

  /// Per-cell means and CIs of a finished sweep, by metric name (acc, err, asr).
  public static func results(_ runner: SweepRunner) throws -> [String: [String: (mean: Double, ci: Double?)]] {
    var out: [String: [String: (Double, Double?)]] = [:]
    for cell in runner.spec.cells {
      var acc: [Double] = [], asr: [Double] = []
      for (seed, _) in cell.topologies {
        let run = RunDirectory(path: (runner.directory as NSString).appendingPathComponent("cells/\(cell.id)-s\(seed)"))
        guard let s = try? run.loadSummary() else { continue }
        if let a = s.testAccuracy { acc.append(a) }
        if let a = s.attackSuccessRate { asr.append(a) }
      }
      var m: [String: (Double, Double?)] = [:]
      if let r = Statistics.meanCI(acc) { m["acc"] = r; m["err"] = (1 - r.mean, r.ci95) }
      if let r = Statistics.meanCI(asr) { m["asr"] = r }
      out[cell.id] = m
    }
    return out
  }

  public struct Verdict: Sendable {
    public let claim: Claim
    public let ours: String
    public let reproduced: Bool?
  }

  public func verdicts(_ results: [String: [String: (mean: Double, ci: Double?)]]) -> [Verdict] {
    claims.map { c in
      if let cell = c.cell, let paper = c.paper, let tol = c.tolerance {
        let key = ["accuracy": "acc", "error": "err", "attack_success": "asr"][c.metric ?? "accuracy"] ?? "acc"
        guard let r = results[cell]?[key] else { return Verdict(claim: c, ours: "missing", reproduced: nil) }
        let ours = String(format: "%.3f", r.mean) + (r.ci.map { String(format: " ± %.3f", $0) } ?? "")
        return Verdict(claim: c, ours: ours, reproduced: abs(r.mean - paper) <= tol)
      }
      do {
        let (lhs, op, rhs) = try Expression.evaluate(c.holds!, results)
        return Verdict(claim: c, ours: String(format: "%.3f %@ %.3f", lhs, op, rhs), reproduced: Expression.compare(lhs, op, rhs))
      } catch {
        return Verdict(claim: c, ours: "\(error)", reproduced: nil)
      }
    }
  }
}

/// `acc(c001) - acc(c002) >= 0.05`: sums and differences of cell results and numbers, one comparison.
enum Expression {
  static func evaluate(_ text: String, _ r: [String: [String: (mean: Double, ci: Double?)]]) throws -> (Double, String, Double) {
    for op in [">=", "<=", ">", "<"] {
      let parts = text.components(separatedBy: op)
      if parts.count == 2 { return (try sum(parts[0], r), op, try sum(parts[1], r)) }
    }
    throw RuntimeError("'\(text)' needs one of >=, <=, >, <")
  }

  static func compare(_ a: Double, _ op: String, _ b: Double) -> Bool {
    switch op {
    case ">=": return a >= b;
    case "<=": return a <= b;
    case ">": return a > b;
    default: return a < b
    }
  }

  static func sum(_ text: String, _ r: [String: [String: (mean: Double, ci: Double?)]]) throws -> Double {
    var total = 0.0, sign = 1.0
    let spaced = text.replacingOccurrences(of: "+", with: " + ").replacingOccurrences(of: "-", with: " - ")
    for token in spaced.split(separator: " ").map(String.init) where !token.isEmpty {
      if token == "+" { sign = 1; continue }
      if token == "-" { sign = -1; continue }
      if let v = Double(token) { total += sign * v; sign = 1; continue }
      guard let open = token.firstIndex(of: "("), token.hasSuffix(")") else { throw RuntimeError("cannot read '\(token)' in '\(text)'") }
      let metric = String(token[..<open]), cell = String(token[token.index(after: open)..<token.index(before: token.endIndex)])
      guard let v = r[cell]?[metric]?.mean else { throw RuntimeError("no \(metric) result for \(cell)") }
      total += sign * v
      sign = 1
    }
    return total
  }
}
