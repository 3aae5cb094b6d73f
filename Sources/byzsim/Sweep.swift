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
      directory each) and summary.csv (one row per cell: grid values, mean and 95% CI over seeds of final
      accuracy and attack success rate, wall time; detection F1 columns stay empty until auditors exist).
      Cells run as `byzsim run --threads` (bit-identical to processes) unless --processes.
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

  func validate() throws {
    guard (file == nil) != (resume == nil) else { throw ValidationError("give a sweep file, or --resume SWEEP_DIR (not both).") }
    guard jobs >= 1 && jobs <= 64 else { throw ValidationError("--jobs must be between 1 and 64: got \(jobs).") }
  }

  func run() throws {
    let spec =
      try resume.map { try SweepRunner.load(directory: $0) } ?? SweepSpec.load(path: ShippedFiles.locate(file!, what: "sweep file"))
    if dryRun {
      print("\(spec.cells.count) cells × \(spec.seeds.count) seeds = \(spec.cells.count * spec.seeds.count) runs")
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
    var lastDone = -1
    let rows = try runner.run { p in
      let eta = p.etaSeconds.map { String(format: "  ETA %.0f s", $0) } ?? ""
      let line = "\(p.done)/\(p.total) runs done  running: \(p.running.joined(separator: " "))\(eta)"
      if p.done != lastDone { progress.finish(line); lastDone = p.done } else { progress.update(line) }
    }
    progress.note("summary: \(dir)/summary.csv")
    for row in rows { print(row.joined(separator: "\t")) }
  }
}

/// `byzsim report`: figures and reports for a run or sweep directory.
struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Write SVG figures, report.html (self-contained) and report.md into a run or sweep directory.")
  @Argument(help: "A run directory or a sweep directory.", completion: .directory)
  var directory: String

  func run() throws {
    for f in try Report.generate(directory) { print((directory as NSString).appendingPathComponent(f)) }
  }
}

/// `byzsim reproduce`: run a paper's setup and compare with its published numbers.
struct Reproduce: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Reproduce a paper's results (experiments/papers/NAME.toml) and print ours next to theirs with a verdict.")
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
      let names = Reproduction.list(in: papers)
      if names.isEmpty { throw UserError("\(papers): no paper files (.toml files with a [paper] table)") }
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
    let verdicts = r.verdicts(try Reproduction.results(runner))
    var table = "| source | claim | paper | ours (mean ± 95% CI over seeds) | verdict |\n|---|---|---|---|---|\n"
    for v in verdicts {
      let claim = v.claim.text.isEmpty ? "\(v.claim.metric ?? "accuracy") of \(v.claim.cell ?? "")" : v.claim.text
      let paper = v.claim.paper.map { String(format: "%.2f (±%.2f)", $0, v.claim.tolerance ?? 0) } ?? (v.claim.holds ?? "")
      let verdict = v.reproduced.map { $0 ? "reproduced" : "not reproduced" } ?? "n/a"
      table += "| \(v.claim.source) | \(claim) | \(paper) | \(v.ours) | \(verdict) |\n"
    }
    let cells = r.sweep.cells.map { "- \($0.id): " + $0.values.map { "\($0.0) = \($0.1)" }.joined(separator: ", ") }.joined(separator: "\n")
    let md =
      "# \(r.title)\n\n\(quick ? "Quick mode: \(r.quickNote ?? "")\n\n" : "")\(r.notes.map { $0 + "\n\n" } ?? "")\(table)\nCells:\n\(cells)\n"
    try md.write(toFile: dir + "/verdicts.md", atomically: true, encoding: .utf8)
    print(table + "\nCells:\n" + cells)
    let written = try Report.generate(dir)
    print("report: \(written.joined(separator: ", "))")
    let failed = verdicts.filter { $0.reproduced == false }
    if strict && !failed.isEmpty {
      throw UserError(
        "\(failed.count) of \(verdicts.count) claims not reproduced (--strict): \(failed.map(\.claim.source).joined(separator: ", "))")
    }
  }
}
