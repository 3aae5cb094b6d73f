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
  /// A folder or file that cannot be read is an error naming it, not a shorter list.
  public static func list(in dir: String = directory) throws -> [String] {
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
      throw RuntimeError("\(dir): cannot list the folder of paper files: \(error.localizedDescription)")
    }
    return try names.filter { name in
      guard name.hasSuffix(".toml") else { return false }
      let path = (dir as NSString).appendingPathComponent(name)
      do { return try String(contentsOfFile: path, encoding: .utf8).contains("[paper]") } catch {
        throw RuntimeError("\(path): cannot read it: \(error.localizedDescription)")
      }
    }.map { String($0.dropLast(5)) }.sorted()
  }

  public static func load(_ name: String, in dir: String = directory, quick: Bool) throws -> Reproduction {
    let file = (dir as NSString).appendingPathComponent(name + ".toml")
    guard FileManager.default.fileExists(atPath: file) else {
      throw RuntimeError("no reproduction '\(name)' in \(dir) (available: \(try list(in: dir).joined(separator: ", ")))")
    }
    let text: String
    do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
      throw RuntimeError("\(file): cannot read it: \(error.localizedDescription)")
    }
    return try decode(root: try Topology.parse(text, file: file), file: file, name: name, quick: quick)
  }

  /// The reproduction a directory made by `byzsim reproduce` ran (from its copy of the paper
  /// file and its record); nil for a directory that is not a reproduction.
  public static func load(directory: String) throws -> Reproduction? {
    let saved = try SweepRunner.saved(directory: directory)
    guard let quick = saved.quick else { return nil }
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/reproduction.json")))
    let name = (json as? [String: Any])?["name"] as? String ?? (directory as NSString).lastPathComponent
    return try decode(root: saved.table, file: saved.file, name: name, quick: quick, commandLine: saved.commandLine)
  }

  static func decode(
    root: TOMLTable, file: String, name: String, quick: Bool, commandLine: SweepSpec.CommandLine = SweepSpec.CommandLine()
  ) throws -> Reproduction {
    let sweep = try SweepSpec.decode(
      table: root, file: file, extraKeys: ["paper", "quick", "claims"], quick: quick, commandLine: commandLine)
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

  /// One cell's figure for a metric over its finished seeds.
  public struct CellResult: Sendable, Equatable {
    public let mean: Double
    /// The 95% confidence half-width (nil for one seed).
    public let ci95: Double?
    public let n: Int
  }

  /// Per-cell results of a finished sweep, by metric name (acc, err, asr).
  public static func results(_ cells: [SweepRunner.CellSummary]) -> [String: [String: CellResult]] {
    var out: [String: [String: CellResult]] = [:]
    for s in cells {
      var m: [String: CellResult] = [:]
      if let a = s.accuracyMean {
        m["acc"] = CellResult(mean: a, ci95: s.accuracyCi95, n: s.runs)
        m["err"] = CellResult(mean: 1 - a, ci95: s.accuracyCi95, n: s.runs)
      }
      if let a = s.attackSuccessMean { m["asr"] = CellResult(mean: a, ci95: s.attackSuccessCi95, n: s.runs) }
      out[s.cell] = m
    }
    return out
  }

  /// A cell a claim compares, with its result (nil: the cell has no finished run).
  public struct Compared: Sendable {
    public let cell: String
    /// acc, err or asr.
    public let metric: String
    public let result: CellResult?
  }

  public struct Verdict: Sendable {
    public let claim: Claim
    /// The claim in words: its text, or what a numeric claim measures.
    public let statement: String
    /// The paper's side: its figure with the tolerance, or the inequality that must hold.
    public let paperSide: String
    public let ours: String
    /// How far inside (> 0) or outside (< 0) the claim our figures are: tolerance − |ours − paper|,
    /// or the inequality's slack (left − right for ≥ and >, right − left for ≤ and <).
    public let margin: Double?
    public let reproduced: Bool?
    public let compared: [Compared]
  }

  static let metricWords = ["acc": "test accuracy", "err": "test error", "asr": "attack success rate"]

  /// `0.812 ± 0.013 (n = 3)`; one seed: `0.812 (n = 1)`.
  public static func describe(_ r: CellResult) -> String {
    String(format: "%.3f", r.mean) + (r.ci95.map { String(format: " ± %.3f", $0) } ?? "") + " (n = \(r.n))"
  }

  public func verdicts(_ results: [String: [String: CellResult]]) -> [Verdict] {
    claims.map { c in
      if let cell = c.cell, let paper = c.paper, let tol = c.tolerance {
        let key = ["accuracy": "acc", "error": "err", "attack_success": "asr"][c.metric ?? "accuracy"] ?? "acc"
        let label = sweep.cells.first { $0.id == cell }.map(GridColumns.label) ?? ""
        let statement = c.text.isEmpty ? "\(Self.metricWords[key]!) of \(cell) (\(label))" : c.text
        let paperSide = String(format: "%.2f (±%.2f)", paper, tol)
        let r = results[cell]?[key]
        let compared = [Compared(cell: cell, metric: key, result: r)]
        guard let r else {
          return Verdict(
            claim: c, statement: statement, paperSide: paperSide, ours: "\(cell): no finished run", margin: nil, reproduced: nil,
            compared: compared)
        }
        let margin = tol - abs(r.mean - paper)
        return Verdict(
          claim: c, statement: statement, paperSide: paperSide, ours: "\(cell): \(Self.describe(r))", margin: margin,
          reproduced: margin >= 0, compared: compared)
      }
      let holds = c.holds!
      let compared = Expression.references(holds).map { Compared(cell: $0.cell, metric: $0.metric, result: results[$0.cell]?[$0.metric]) }
      let cells = compared.map { "\($0.metric)(\($0.cell)) = \($0.result.map(Self.describe) ?? "no finished run")" }
      let statement = c.text.isEmpty ? holds : c.text
      do {
        let (lhs, op, rhs) = try Expression.evaluate(holds, results.mapValues { $0.mapValues(\.mean) })
        let slack = op.hasPrefix(">") ? lhs - rhs : rhs - lhs
        let ours = (cells + [String(format: "%.3f %@ %.3f", lhs, op, rhs)]).joined(separator: "; ")
        return Verdict(
          claim: c, statement: statement, paperSide: holds, ours: ours, margin: slack, reproduced: Expression.compare(lhs, op, rhs),
          compared: compared)
      } catch {
        return Verdict(
          claim: c, statement: statement, paperSide: holds, ours: (cells + ["\(error)"]).joined(separator: "; "), margin: nil,
          reproduced: nil, compared: compared)
      }
    }
  }

  /// The verdict table (Markdown): per claim its source, the claim in words, the paper's side,
  /// ours (each compared cell's mean ± 95% CI and n), the margin and the verdict.
  public static func table(_ verdicts: [Verdict]) -> String {
    func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
    var t = "| source | claim | paper | ours (mean ± 95% CI over seeds, n) | margin | verdict |\n|---|---|---|---|---|---|\n"
    for v in verdicts {
      let verdict = v.reproduced.map { $0 ? "reproduced" : "not reproduced" } ?? "n/a"
      let margin = v.margin.map { String(format: "%+.3f", $0) } ?? "-"
      t += "| \(cell(v.claim.source)) | \(cell(v.statement)) | \(cell(v.paperSide)) | \(cell(v.ours)) | \(margin) | \(verdict) |\n"
    }
    return t
  }

  /// Every cell in words with the command that reruns it alone (its first seed).
  public func cellList() -> String {
    sweep.cells.map { c in
      let seed = sweep.seeds.first ?? 1
      return "- \(c.id) (\(GridColumns.label(c))): `\(sweep.rerunCommand(cell: c.id, seed: seed) ?? "")`"
    }.joined(separator: "\n")
  }

  /// verdicts.md: the title, the scale, the notes, the verdict table, the figures and the cells.
  public func markdown(_ verdicts: [Verdict], quick: Bool) -> String {
    let figures = figures(verdicts).map { "![\($0.caption)](\($0.file))" }.joined(separator: "\n\n")
    return "# \(title)\n\n\(quick ? "Quick mode: \(quickNote ?? "")\n\n" : "")\(notes.map { $0 + "\n\n" } ?? "")"
      + Self.table(verdicts) + "\n" + figures + "\n\nCells (each line reruns that cell alone with seed \(sweep.seeds.first ?? 1)):\n"
      + cellList() + "\n"
  }

  /// One figure per claim (`claim-K.svg`): the cells it compares, each one's mean over its seeds
  /// with the 95% CI as whiskers, and for a numeric claim the paper's figure marked.
  public func figures(_ verdicts: [Verdict]) -> [(file: String, caption: String, svg: String)] {
    verdicts.enumerated().map { k, v in
      let shown = v.compared.compactMap { c in c.result.map { (c, $0) } }
      let labels = shown.map { c, _ in
        "\(c.metric)(\(c.cell)) " + (sweep.cells.first { $0.id == c.cell }.map(GridColumns.label) ?? "")
      }
      let marks = v.claim.paper.map { [(value: $0, label: String(format: "paper %.2f ± %.2f", $0, v.claim.tolerance ?? 0))] } ?? []
      let verdict = v.reproduced.map { $0 ? "reproduced" : "not reproduced" } ?? "not judged"
      let margin = v.margin.map { String(format: ", margin %+.3f", $0) } ?? ""
      let n = Set(shown.map { $0.1.n }).sorted().map(String.init).joined(separator: "/")
      let svg = SVG.bars(
        title: "\(v.claim.source): \(v.statement)", labels: labels, values: shown.map { $0.1.mean }, maximum: 1, format: "%.3f",
        axisLabel: "mean over seeds (n = \(n.isEmpty ? "0" : n)), whiskers: 95% CI", marks: marks, errors: shown.map { $0.1.ci95 })
      return ("claim-\(k + 1).svg", "\(v.claim.source): \(v.statement) — \(verdict)\(margin)", svg)
    }
  }

  /// The command that reruns one cell with one seed as a single `byzsim run`: the base topology
  /// with the sweep's fixed overrides, the cell's grid values and the seed as `--set`s.
  public func rerunCommand(cell: String, seed: UInt64) -> String? {
    sweep.rerunCommand(cell: cell, seed: seed)
  }
}

/// `acc(c001) - acc(c002) >= 0.05`: sums and differences of cell results and numbers, one comparison.
enum Expression {
  /// The (metric, cell) terms the expression reads, in order, each once.
  static func references(_ text: String) -> [(metric: String, cell: String)] {
    var out: [(metric: String, cell: String)] = []
    let spaced = text.replacingOccurrences(of: "+", with: " + ").replacingOccurrences(of: "-", with: " - ")
    for token in spaced.split(whereSeparator: { " <>=".contains($0) }).map(String.init) {
      guard let open = token.firstIndex(of: "("), token.hasSuffix(")") else { continue }
      let term = (String(token[..<open]), String(token[token.index(after: open)..<token.index(before: token.endIndex)]))
      if !out.contains(where: { $0.metric == term.0 && $0.cell == term.1 }) { out.append(term) }
    }
    return out
  }

  static func evaluate(_ text: String, _ r: [String: [String: Double]]) throws -> (Double, String, Double) {
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

  static func sum(_ text: String, _ r: [String: [String: Double]]) throws -> Double {
    var total = 0.0, sign = 1.0
    let spaced = text.replacingOccurrences(of: "+", with: " + ").replacingOccurrences(of: "-", with: " - ")
    for token in spaced.split(separator: " ").map(String.init) where !token.isEmpty {
      if token == "+" { sign = 1; continue }
      if token == "-" { sign = -1; continue }
      if let v = Double(token) { total += sign * v; sign = 1; continue }
      guard let open = token.firstIndex(of: "("), token.hasSuffix(")") else { throw RuntimeError("cannot read '\(token)' in '\(text)'") }
      let metric = String(token[..<open]), cell = String(token[token.index(after: open)..<token.index(before: token.endIndex)])
      guard let v = r[cell]?[metric] else { throw RuntimeError("no \(metric) result for \(cell)") }
      total += sign * v
      sign = 1
    }
    return total
  }
}
