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
    let spec = try resume.map { try SweepRunner.load(directory: $0) } ?? SweepSpec.load(path: file!)
    if dryRun {
      print("\(spec.cells.count) cells × \(spec.seeds.count) seeds = \(spec.cells.count * spec.seeds.count) runs")
      for c in spec.cells {
        print("\(c.id)  " + (c.values.isEmpty ? "(base)" : c.values.map { "\($0.0) = \($0.1)" }.joined(separator: ", ")) + "  seeds \(spec.seeds.map(String.init).joined(separator: ","))")
      }
      return
    }
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
