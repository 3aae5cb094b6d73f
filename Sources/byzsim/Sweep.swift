import ArgumentParser
import Experiments
import Foundation
import Runtime

/// `byzsim sweep`: run a grid of topologies × seeds and summarise it.
struct Sweep: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run an attack/defence sweep (experiments/*.sweep.toml): grid × seeds, summary.csv.",
    discussion: """
      Writes sweeps/<name>-<time>/: a copy of the sweep and base files, cells/<cell>-s<seed>/ (one run
      directory each) and summary.csv (one row per cell: grid values, finished seeds, mean and 95% CI
      over seeds of final accuracy, attack success rate and detection F1 (runs with auditors), wall time).
      Cells run as `byzsim run --threads` (bit-identical to processes) unless --processes. --set and
      --seeds are recorded in the sweep directory (overrides.json), so --resume rebuilds the same cells.

      Examples:
        byzsim sweep experiments/tm-attacks.sweep.toml --seeds 1..3
        byzsim sweep experiments/tm-attacks.sweep.toml --set rounds=20 --dry-run
        byzsim sweep --resume sweeps/tm-attacks-20261201T101500Z --json
      """)

  @Argument(help: "The sweep file.", completion: .file(extensions: ["toml"]))
  var file: String?
  @Option(help: "Concurrent runs (default 1: each run keeps the 2 cores busy).")
  var jobs: Int = 1
  @Option(help: "Continue a killed sweep (its directory): finished, manifest-verified runs are kept.", completion: .directory)
  var resume: String?
  @Option(help: "Where sweep directories are created.")
  var sweepsDir: String = "sweeps"
  @Flag(help: "Run every cell with real processes instead of threads.")
  var processes = false
  @Flag(help: "List the cells and exit.")
  var dryRun = false
  @OptionGroup var setOptions: OverrideOptions
  @Option(help: ArgumentHelp("The seeds, replacing the file's: 1,2,3 or a range 1..5.", valueName: "seeds"))
  var seeds: String?
  @Flag(help: "Print one JSON object on stdout (the sweep directory and every cell's results) instead of the table.")
  var json = false

  func validate() throws {
    guard (file == nil) != (resume == nil) else { throw ValidationError("give a sweep file, or --resume SWEEP_DIR (not both).") }
    guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be between 1 and 64: got \(jobs).") }
    if resume != nil && (!setOptions.isEmpty || seeds != nil) {
      throw ValidationError("--set and --seeds shape a new sweep; a resumed sweep keeps the ones it was started with")
    }
  }

  /// What `--json` prints.
  struct Output: Encodable {
    var name: String
    var sweepDir: String?
    var summaryCsv: String?
    var seeds: [UInt64]
    var runs: Int
    var cells: [SweepRunner.CellSummary]?
    var planned: [Planned]?
    struct Planned: Encodable { var cell: String; var values: [String: TOMLJSON] }
  }

  func run() throws {
    let commandLine = SweepSpec.CommandLine(set: setOptions.overrides, seeds: try seeds.map(SweepSpec.CommandLine.seeds))
    let spec =
      try resume.map { try SweepRunner.load(directory: $0) }
      ?? SweepSpec.load(path: ShippedFiles.locate(file!, what: "sweep file"), commandLine: commandLine)
    let runCount = spec.cells.count * spec.seeds.count
    if dryRun {
      if json {
        let planned = spec.cells.map { c in
          Output.Planned(cell: c.id, values: Dictionary(uniqueKeysWithValues: c.grid.compactMap { k, v in v.map { (k, TOMLJSON($0)) } }))
        }
        try printJSON(Output(name: spec.name, seeds: spec.seeds, runs: runCount, planned: planned))
        return
      }
      print("\(spec.cells.count) cells × \(spec.seeds.count) seeds = \(runCount) runs")
      for c in spec.cells {
        print(
          "\(c.id)  " + (c.values.isEmpty ? "(base)" : c.values.map { "\($0.0) = \($0.1)" }.joined(separator: ", "))
            + "  seeds \(spec.seeds.map(String.init).joined(separator: ","))")
      }
      return
    }
    Interrupts.install()
    let dir = try resume ?? SweepRunner.create(spec, under: sweepsDir)
    let runner = SweepRunner(spec: spec, directory: dir, binary: Launcher.executablePath, jobs: jobs, processes: processes)
    let progress = ProgressLine()
    progress.note("byzsim sweep: \(spec.name), \(spec.cells.count) cells × \(spec.seeds.count) seeds, \(jobs) at a time — \(dir)")
    let rows = try runner.run { p in
      for f in p.finished { progress.finish(Self.result(of: f)) }
      let eta = p.etaSeconds.map { "  ETA \(RunPace.clock($0))" } ?? ""
      let line = "\(p.done)/\(p.total) runs done  running: \(p.running.joined(separator: " "))\(eta)"
      if p.done == p.total { progress.finish("\(p.done)/\(p.total) runs done") } else { progress.update(line) }
    }
    progress.note("summary: \(dir)/summary.csv")
    if json {
      try printJSON(
        Output(
          name: spec.name, sweepDir: dir, summaryCsv: (dir as NSString).appendingPathComponent("summary.csv"), seeds: spec.seeds,
          runs: runCount, cells: try runner.cellSummaries()))
    } else {
      for row in rows { print(row.joined(separator: "\t")) }
    }
  }

  /// One finished run's line: `c002-s1 done in 0:14 — accuracy 0.8123, attack success 0.0500`.
  static func result(of f: SweepRunner.Finished) -> String {
    guard f.succeeded else { return "\(f.name) FAILED after \(RunPace.clock(f.seconds)) — see \(f.path)/logs/run.log" }
    let s: RunSummary
    do { s = try RunDirectory(path: f.path).loadSummary() } catch {
      // The sweep goes on; summary.csv's pass reports the same file again, as an error.
      return "\(f.name) done in \(RunPace.clock(f.seconds)), but its summary.json is unreadable: \(error)"
    }
    var figures = ["accuracy " + (s.testAccuracy.map { String(format: "%.4f", $0) } ?? "-")]
    if let a = s.attackSuccessRate { figures.append(String(format: "attack success %.4f", a)) }
    if let d = s.detection?.f1 { figures.append(String(format: "detection F1 %.3f", d)) }
    return "\(f.name) done in \(RunPace.clock(f.seconds)) — \(figures.joined(separator: ", "))"
  }
}

/// One JSON object on stdout (`--json` of sweep, reproduce, validate).
func printJSON(_ value: some Encodable) throws {
  print(String(decoding: try JSONEncoder.snake().encode(value), as: UTF8.self))
}

/// `byzsim report`: figures and reports for a run or sweep directory.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write SVG figures, report.html (self-contained) and report.md into a run or sweep directory.",
    discussion: """
      Examples:
        byzsim report sweeps/tm-attacks-20261201T101500Z --band sd
        byzsim report runs/default-20261201T101500Z
        byzsim report reproductions/karimireddy2021-20261201T101500Z
        byzsim report sweeps/tm-attacks-20261201T101500Z --baseline c001   # accuracy against the no-attack cell
      """)
  @Argument(help: "A run directory or a sweep directory.", completion: .directory)
  var directory: String
  @Option(help: "What the bands around means over seeds show: ci95 (95% CI, Student's t), se, sd or none.")
  var band: String = "ci95"
  @Option(help: "A sweep cell (e.g. c001, the no-attack cell): also draw each cell's final accuracy minus its, on a diverging scale.")
  var baseline: String?

  func validate() throws {
    guard Band(rawValue: band) != nil else {
      throw ValidationError("--band \(band): expected one of \(Band.allCases.map(\.rawValue).joined(separator: ", "))")
    }
  }

  func run() throws {
    for f in try Report.generate(directory, band: Band(rawValue: band)!, baseline: baseline) {
      print((directory as NSString).appendingPathComponent(f))
    }
  }
}

/// `byzsim reproduce`: run a paper's setup and compare with its published numbers.
struct Reproduce: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Reproduce a paper's results (experiments/papers/NAME.toml) and print ours next to theirs with a verdict.",
    discussion: """
      Writes reproductions/<name>-<time>/: the sweep's cells, verdicts.md and the report (report.html).

      Examples:
        byzsim reproduce --list
        byzsim reproduce karimireddy2021 --quick --strict
        byzsim reproduce --resume reproductions/fang2020-20261201T101500Z --json
      """)
  @Argument(help: "The reproduction's name (see --list).")
  var name: String?
  @Flag(help: "Run the scaled-down version (it says how it is scaled).")
  var quick = false
  @Flag(help: "List the reproductions.")
  var list = false
  @Option(help: "Concurrent runs.")
  var jobs: Int = 1
  @Option(help: "Where reproduction directories are created.")
  var outputDir: String = "reproductions"
  @Option(help: "Directory of the paper files.")
  var papers: String = Reproduction.directory
  @Flag(help: "Exit with status 1 when any claim is not reproduced (for CI jobs).")
  var strict = false
  @Option(help: "Continue an interrupted reproduction (its directory); finished runs are kept.", completion: .directory)
  var resume: String?
  @Flag(help: "Print one JSON object on stdout (the verdicts, or with --list the reproductions) instead of the tables.")
  var json = false

  /// What `--json` prints.
  struct Output: Encodable {
    struct Listed: Encodable { var name: String; var title: String; var cells: Int; var seeds: Int; var claims: Int }
    struct Verdict: Encodable {
      var source: String
      var claim: String
      @Nullable var cell: String?
      @Nullable var metric: String?
      @Nullable var paper: Double?
      @Nullable var tolerance: Double?
      @Nullable var holds: String?
      var ours: String
      @Nullable var margin: Double?
      /// nil: the claim could not be judged (a missing cell).
      @Nullable var reproduced: Bool?
      var compared: [Compared]
    }
    struct Compared: Encodable {
      var cell: String
      var metric: String
      @Nullable var mean: Double?
      @Nullable var ci95: Double?
      var n: Int
    }
    struct Cell: Encodable { var cell: String; var label: String; var rerun: String }
    var reproductions: [Listed]?
    var name: String?
    var title: String?
    var quick: Bool?
    var reproductionDir: String?
    var verdicts: [Verdict]?
    var cells: [Cell]?
    var report: [String]?
  }

  func validate() throws {
    if !list && name == nil && resume == nil { throw ValidationError("give a reproduction name, --resume DIR, or --list.") }
  }

  func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
  }

  /// What a reproduction directory records so that `--resume` finds its paper again.
  struct Saved: Codable { var name: String; var quick: Bool; var papers: String }

  func run() throws {
    // From any directory: the shipped paper files (see ShippedFiles), recorded absolute for --resume.
    let papers = try absolute(ShippedFiles.locate(self.papers, what: "folder of paper files"))
    if list {
      let names = try Reproduction.list(in: papers)
      if names.isEmpty { throw UserError("\(papers): no paper files (.toml files with a [paper] table)") }
      if json {
        let listed = try names.map { n in
          let r = try Reproduction.load(n, in: papers, quick: false)
          return Output.Listed(name: n, title: r.title, cells: r.sweep.cells.count, seeds: r.sweep.seeds.count, claims: r.claims.count)
        }
        try printJSON(Output(reproductions: listed))
        return
      }
      for n in names {
        let r = try Reproduction.load(n, in: papers, quick: false)
        print(
          "\(n.padding(toLength: 18, withPad: " ", startingAt: 0)) \(r.title) — \(r.sweep.cells.count) cells × \(r.sweep.seeds.count) seeds, \(r.claims.count) claims"
        )
      }
      return
    }
    Interrupts.install()
    var saved = Saved(name: name ?? "", quick: quick, papers: papers)
    if let resume {
      let file = (resume as NSString).appendingPathComponent("reproduction.json")
      guard let d = FileManager.default.contents(atPath: file) else {
        throw UserError("\(file): not found; is \(resume) a reproduction directory?")
      }
      do { saved = try JSONDecoder().decode(Saved.self, from: d) } catch {
        throw UserError("\(file): not a reproduction record (\(error))")
      }
    }
    let quick = saved.quick
    let r = try Reproduction.load(saved.name, in: saved.papers, quick: quick)
    let progress = ProgressLine()
    progress.note("byzsim reproduce: \(r.title)")
    if quick {
      progress.note(
        "quick mode: \(r.quickNote ?? "scaled down by the file's [quick] table") — verdicts compare a scaled-down setup with the paper")
    }
    let dir: String
    if let resume {
      dir = resume
    } else {
      dir = try SweepRunner.create(r.sweep, under: outputDir)
      try JSONEncoder().encode(saved).write(
        to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("reproduction.json")), options: .atomic)
    }
    let runner = SweepRunner(spec: r.sweep, directory: dir, binary: Launcher.executablePath, jobs: jobs, processes: false)
    _ = try runner.run(resumeCommand: "byzsim reproduce --resume \(dir)") { p in
      progress.update(
        "\(p.done)/\(p.total) runs  \(p.running.joined(separator: " "))\(p.etaSeconds.map { String(format: "  ETA %.0f s", $0) } ?? "")",
        force: p.done == p.total)
    }
    progress.finish("runs finished: \(dir)")
    let verdicts = r.verdicts(Reproduction.results(try runner.cellSummaries()))
    try r.markdown(verdicts, quick: quick).write(toFile: dir + "/verdicts.md", atomically: true, encoding: .utf8)
    let written = try Report.generate(dir)
    if json {
      let out = verdicts.map { v in
        Output.Verdict(
          source: v.claim.source, claim: v.statement, cell: v.claim.cell, metric: v.claim.metric, paper: v.claim.paper,
          tolerance: v.claim.tolerance, holds: v.claim.holds, ours: v.ours, margin: v.margin, reproduced: v.reproduced,
          compared: v.compared.map {
            Output.Compared(cell: $0.cell, metric: $0.metric, mean: $0.result?.mean, ci95: $0.result?.ci95 ?? nil, n: $0.result?.n ?? 0)
          })
      }
      let cells = r.sweep.cells.map { c in
        Output.Cell(
          cell: c.id, label: GridColumns.label(c), rerun: r.sweep.rerunCommand(cell: c.id, seed: r.sweep.seeds.first ?? 1) ?? "")
      }
      try printJSON(
        Output(
          name: saved.name, title: r.title, quick: quick, reproductionDir: dir, verdicts: out, cells: cells,
          report: written.map { (dir as NSString).appendingPathComponent($0) }))
    } else {
      print(Reproduction.table(verdicts) + "\nCells (each line reruns that cell alone):\n" + r.cellList())
      print("report: \(written.joined(separator: ", "))")
    }
    let failed = verdicts.filter { $0.reproduced == false }
    if strict && !failed.isEmpty {
      throw UserError(
        "\(failed.count) of \(verdicts.count) claims not reproduced (--strict): \(failed.map(\.claim.source).joined(separator: ", "))")
    }
  }
}
