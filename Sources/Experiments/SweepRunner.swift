import Foundation
import Runtime
import Synchronization
import TOML

/// Runs a sweep's cells × seeds as `byzsim run` subprocesses (at most `jobs` at once), each in
/// its own run directory under `<sweep dir>/cells/` (identical shards stored once, in
/// `<sweep dir>/shards/`), and writes `summary.csv`. A finished,
/// manifest-verified run is never redone, so a killed sweep loses only the runs in flight.
public final class SweepRunner {
  public struct Progress: Sendable {
    public let done: Int, total: Int
    public let running: [String]
    public let etaSeconds: Double?
    /// Runs that ended since the previous report.
    public let finished: [Finished]
  }

  /// A run that ended: its name (`c002-s1`), run directory, wall seconds and whether it succeeded.
  public struct Finished: Sendable {
    public let name: String, path: String
    public let seconds: Double
    public let succeeded: Bool
  }

  public let spec: SweepSpec
  public let directory: String
  let binary: String
  let jobs: Int
  let processes: Bool

  public init(spec: SweepSpec, directory: String, binary: String, jobs: Int, processes: Bool) {
    self.spec = spec; self.directory = directory; self.binary = binary; self.jobs = jobs; self.processes = processes
  }

  /// Creates `root/<name>-<UTC time>` with copies of the sweep and base files.
  public static func create(_ spec: SweepSpec, under root: String) throws -> String {
    let dir = try RunDirectory.create(name: spec.name, under: root).path
    // The sweep's own shards/ stays: it is the cells' shared shard store (ShardStore).
    for sub in ["logs", "keys"] { try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(sub)) }
    try FileManager.default.copyItem(atPath: spec.file, toPath: (dir as NSString).appendingPathComponent("sweep.toml"))
    try FileManager.default.copyItem(atPath: spec.baseFile, toPath: (dir as NSString).appendingPathComponent("base.toml"))
    if !spec.commandLine.isEmpty {
      try JSONEncoder.snake().encode(spec.commandLine).write(
        to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(overridesFile)), options: .atomic)
    }
    return dir
  }

  /// The sweep's `--set` and `--seeds`, recorded beside its copy of the sweep file.
  static let overridesFile = "overrides.json"

  static func commandLine(in directory: String) throws -> SweepSpec.CommandLine {
    let path = (directory as NSString).appendingPathComponent(overridesFile)
    guard let data = FileManager.default.contents(atPath: path) else {
      if FileManager.default.fileExists(atPath: path) {
        throw TopologyError(file: path, line: 0, key: "", message: "cannot read the sweep's recorded --set/--seeds")
      }
      return SweepSpec.CommandLine()
    }
    do { return try JSONDecoder.snake.decode(SweepSpec.CommandLine.self, from: data) } catch {
      throw TopologyError(file: path, line: 0, key: "", message: "not a record of --set/--seeds (\(error))")
    }
  }

  /// The spec saved in a sweep directory (for --resume).
  public static func load(directory: String) throws -> SweepSpec {
    let saved = try saved(directory: directory)
    guard let quick = saved.quick else {
      return try SweepSpec.decode(table: saved.table, file: saved.file, extraKeys: [], quick: false, commandLine: saved.commandLine)
    }
    return try SweepSpec.decode(
      table: saved.table, file: saved.file, extraKeys: ["paper", "quick", "claims"], quick: quick, commandLine: saved.commandLine)
  }

  /// What a sweep (or reproduction) directory saved of its spec: its copy of the sweep file,
  /// parsed with the copied base.toml as its base; for a reproduction, whether it ran scaled down
  /// (nil: a plain sweep); the command line's --set/--seeds.
  public struct Saved {
    public let file: String
    public let table: TOMLTable
    public let quick: Bool?
    public let commandLine: SweepSpec.CommandLine
  }

  public static func saved(directory: String) throws -> Saved {
    let file = (directory as NSString).appendingPathComponent("sweep.toml")
    guard let data = FileManager.default.contents(atPath: file) else {
      throw TopologyError(
        file: file, line: 0, key: "",
        message: FileManager.default.fileExists(atPath: directory)
          ? "not found: is \(directory) a sweep directory (made by byzsim sweep)?" : "no such directory \(directory)")
    }
    let text = String(decoding: data, as: UTF8.self)
    // The copy's base is the copied base.toml beside it.
    let patched = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      line.trimmingCharacters(in: .whitespaces).hasPrefix("base") && line.contains("=") ? "base = \"base.toml\"" : String(line)
    }.joined(separator: "\n")
    // A reproduction's copy keeps its paper's [paper], [quick] and [[claims]] tables; its record
    // says whether it ran scaled down, which decides its cells.
    let record = (directory as NSString).appendingPathComponent("reproduction.json")
    var quick: Bool?
    if FileManager.default.fileExists(atPath: record) {
      guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: record))) as? [String: Any],
        let q = json["quick"] as? Bool
      else { throw TopologyError(file: record, line: 0, key: "quick", message: "not a reproduction record (no \"quick\": true or false)") }
      quick = q
    }
    return Saved(file: file, table: try Topology.parse(patched, file: file), quick: quick, commandLine: try commandLine(in: directory))
  }

  struct Job { let cell: SweepSpec.Cell; let seed: UInt64; let topology: Topology; var path: String }

  public func jobList() -> [(cell: SweepSpec.Cell, seed: UInt64, topology: Topology, path: String)] {
    spec.cells.flatMap { c in c.topologies.map { (c, $0.0, $0.1, (directory as NSString).appendingPathComponent("cells/\(c.id)-s\($0.0)")) }
    }
  }

  /// Runs what is not finished yet; returns the summary rows written to summary.csv.
  /// One sweep writer per directory: a second `sweep --resume` of a running sweep is refused.
  /// `resumeCommand` is what an interrupt prints.
  public func run(resumeCommand: String? = nil, onProgress: (Progress) -> Void) throws -> [[String]] {
    let lock = try DirectoryLock(directory: directory, what: "this sweep directory")
    defer { withExtendedLifetime(lock) {} }
    let store = try ShardStore(directory: (directory as NSString).appendingPathComponent("shards"))
    let all = jobList()
    var pending = all.filter { !RunDirectory(path: $0.path).isComplete() }
    let total = all.count
    var done = total - pending.count
    let counts = Mutex<(Int, Int)>((done, total))
    let resume = resumeCommand ?? "byzsim sweep --resume \(directory)"
    Interrupts.setStatus {
      counts.withLock { "interrupted with \($0.0) of \($0.1) runs done (finished runs are kept); resume with: \(resume)" }
    }
    var running: [(name: String, path: String, process: Process, started: Date)] = []
    var durations: [Double] = []
    var failures: [String] = []
    while !pending.isEmpty || !running.isEmpty {
      while running.count < jobs, !pending.isEmpty {
        let job = pending.removeFirst()
        // A partial run of a killed sweep is redone from scratch, unless a writer still holds it.
        if let pid = DirectoryLock.holder(of: job.path) {
          throw RuntimeError(
            "\(job.path): this cell is still being written by process \(pid); stop it (kill \(pid)) before resuming the sweep")
        }
        if FileManager.default.fileExists(atPath: job.path) { try FileManager.default.removeItem(atPath: job.path) }
        let run = try Launcher.prepare(job.topology, in: try RunDirectory.create(at: job.path))
        try store.share(run)
        try writeCellRecord(cell: job.cell, seed: job.seed, run: run)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["run", "--resume", run.path, "--json"] + (processes ? [] : ["--threads"])
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = "1"
        // The files prepare measured here, for the cell and its workers (MeasuredFiles).
        env[MeasuredFiles.handedDownVariable] = MeasuredFiles.handDown()
        p.environment = env
        let logPath = run.path + "/logs/run.log"
        guard FileManager.default.createFile(atPath: logPath, contents: nil), let log = FileHandle(forWritingAtPath: logPath) else {
          throw RuntimeError("cannot create the run log \(logPath): \(String(cString: strerror(errno)))")
        }
        p.standardOutput = log
        p.standardError = log
        Interrupts.register(p)
        try p.run()
        running.append(("\(job.cell.id)-s\(job.seed)", run.path, p, Date()))
      }
      usleep(200_000)
      var finished: [Finished] = []
      for (k, r) in running.enumerated().reversed() where !r.process.isRunning {
        running.remove(at: k)
        Interrupts.unregister(r.process)
        done += 1
        counts.withLock { $0.0 = done }
        let seconds = Date().timeIntervalSince(r.started)
        durations.append(seconds)
        if r.process.terminationStatus != 0 { failures.append(r.name) }
        finished.insert(Finished(name: r.name, path: r.path, seconds: seconds, succeeded: r.process.terminationStatus == 0), at: 0)
      }
      let mean = durations.isEmpty ? nil : durations.reduce(0, +) / Double(durations.count)
      onProgress(
        Progress(
          done: done, total: total, running: running.map(\.name),
          etaSeconds: mean.map { $0 * Double(total - done) / Double(max(1, jobs)) }, finished: finished))
    }
    let rows = try summarize()
    if !failures.isEmpty {
      throw RuntimeError(
        "\(failures.count) run(s) failed: \(failures.joined(separator: ", ")); see cells/<id>/logs/run.log, then resume with: byzsim sweep --resume \(directory)"
      )
    }
    return rows
  }

  /// One cell's results over its finished seeds (summary.csv's row, `sweep --json`'s cell).
  public struct CellSummary: Encodable, Sendable {
    public let cell: String
    /// Grid key → its value in this cell (strings, numbers, booleans, tables as objects).
    public let values: [String: TOMLJSON]
    /// Finished runs (seeds) behind the figures.
    public let runs: Int
    @Nullable public var accuracyMean: Double?
    @Nullable public var accuracyCi95: Double?
    @Nullable public var lossMean: Double?
    @Nullable public var lossCi95: Double?
    @Nullable public var attackSuccessMean: Double?
    @Nullable public var attackSuccessCi95: Double?
    @Nullable public var detectionF1Mean: Double?
    @Nullable public var detectionF1Ci95: Double?
    public let wallSeconds: Double
  }

  /// One finished run: its cell, seed and summary.json.
  struct FinishedRun { let cell: SweepSpec.Cell; let seed: UInt64; let path: String; let summary: RunSummary }

  /// Every finished run, in cell then seed order (an unreadable summary of a finished run is an error).
  func finishedRuns() throws -> [FinishedRun] {
    try jobList().compactMap { job in
      let run = RunDirectory(path: job.path)
      guard run.isComplete() else { return nil }
      return FinishedRun(cell: job.cell, seed: job.seed, path: job.path, summary: try run.loadSummary())
    }
  }

  /// Each cell's mean ± 95% CI over its finished seeds of accuracy, loss, attack success and
  /// detection F1 (audited runs), and its total wall time.
  public func cellSummaries() throws -> [CellSummary] { cellSummaries(try finishedRuns()) }

  func cellSummaries(_ finished: [FinishedRun]) -> [CellSummary] {
    spec.cells.map { cell in
      let runs = finished.filter { $0.cell.id == cell.id }.map(\.summary)
      let a = Statistics.meanCI(runs.compactMap(\.testAccuracy)), l = Statistics.meanCI(runs.compactMap(\.testLoss))
      let r = Statistics.meanCI(runs.compactMap(\.attackSuccessRate)), f = Statistics.meanCI(runs.compactMap { $0.detection?.f1 })
      var values: [String: TOMLJSON] = [:]
      for (k, v) in cell.grid { if let v { values[k] = TOMLJSON(v) } }
      return CellSummary(
        cell: cell.id, values: values, runs: runs.count, accuracyMean: a?.mean, accuracyCi95: a?.ci95 ?? nil, lossMean: l?.mean,
        lossCi95: l?.ci95 ?? nil, attackSuccessMean: r?.mean, attackSuccessCi95: r?.ci95 ?? nil, detectionF1Mean: f?.mean,
        detectionF1Ci95: f?.ci95 ?? nil, wallSeconds: runs.map(\.seconds).reduce(0, +))
    }
  }

  /// results.csv's columns after `cell`, `seed` and the grid columns.
  public static let resultColumns = [
    "rounds", "accuracy", "loss", "attack_success", "detection_precision", "detection_recall", "detection_f1",
    "first_detection_round", "all_detected_round", "ms_per_round", "wall_seconds", "run_dir",
  ]

  /// summary.csv's columns after `cell` and the grid columns.
  public static let summaryColumns = [
    "seeds", "accuracy_mean", "accuracy_ci95", "loss_mean", "loss_ci95", "attack_success_mean", "attack_success_ci95",
    "detection_f1_mean", "detection_f1_ci95", "wall_seconds",
  ]

  /// Writes results.csv (one row per finished run) and summary.csv (one row per cell), both
  /// with the grid split into plain columns (`GridColumns`); returns summary.csv's rows with
  /// its header.
  public func summarize() throws -> [[String]] { try writeSummaries().rows }

  /// `summarize`, also returning the cell summaries it wrote (every summary.json read once).
  public func writeSummaries() throws -> (rows: [[String]], cells: [CellSummary]) {
    let finished = try finishedRuns()
    let columns = GridColumns.columns(spec)
    func fmt(_ x: Double?) -> String { x.map { String(format: "%.6f", $0) } ?? "" }
    func grid(_ cell: SweepSpec.Cell) -> [String] { GridColumns.values(cell, columns: columns).map(GridColumns.text) }
    let summaries = cellSummaries(finished)
    let summary =
      [["cell"] + columns + Self.summaryColumns]
      + zip(spec.cells, summaries).map { cell, s in
        [cell.id] + grid(cell) + [String(s.runs)]
          + [
            s.accuracyMean, s.accuracyCi95, s.lossMean, s.lossCi95, s.attackSuccessMean, s.attackSuccessCi95, s.detectionF1Mean,
            s.detectionF1Ci95,
          ].map(fmt) + [String(format: "%.2f", s.wallSeconds)]
      }
    var results = [["cell", "seed"] + columns + Self.resultColumns]
    for run in finished {
      let s = run.summary, d = s.detection
      // Rounds are numbered from 1 everywhere a person reads them (the live line, plots, these columns).
      let firsts = d.map { Array($0.roundsToFirstDetection.values) } ?? []
      let first = firsts.compactMap { $0 }.min()
      let all = firsts.isEmpty || firsts.contains(where: { $0 == nil }) ? nil : firsts.compactMap { $0 }.max()
      results.append(
        [run.cell.id, String(run.seed)] + grid(run.cell) + [String(s.rounds)]
          + [s.testAccuracy, s.testLoss, s.attackSuccessRate, d?.precision, d?.recall, d?.f1].map(fmt)
          + [first.map(String.init) ?? "", all.map(String.init) ?? "", String(format: "%.3f", s.msPerRound)]
          + [String(format: "%.2f", s.seconds), "cells/\((run.path as NSString).lastPathComponent)"])
    }
    try Self.writeCSV(results, to: (directory as NSString).appendingPathComponent("results.csv"))
    try Self.writeCSV(summary, to: (directory as NSString).appendingPathComponent("summary.csv"))
    return (summary, summaries)
  }

  static func writeCSV(_ rows: [[String]], to path: String) throws {
    let csv = rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    try csv.write(toFile: path, atomically: true, encoding: .utf8)
  }

  /// What one cell's run directory records of its place in the sweep (cell.json): the sweep, the
  /// cell, the seed, its grid values as JSON and the same split into results.csv's columns.
  struct CellRecord: Encodable {
    var sweep: String
    var cell: String
    var seed: UInt64
    var values: [String: TOMLJSON]
    var columns: [String: TOMLJSON]
  }

  func writeCellRecord(cell: SweepSpec.Cell, seed: UInt64, run: RunDirectory) throws {
    var values: [String: TOMLJSON] = [:], columns: [String: TOMLJSON] = [:]
    for (key, value) in cell.grid {
      if let value { values[key] = TOMLJSON(value) }
      for (column, v) in GridColumns.split(key, value) { if let v { columns[column] = TOMLJSON(v) } }
    }
    let record = CellRecord(sweep: spec.name, cell: cell.id, seed: seed, values: values, columns: columns)
    try JSONEncoder.snake(pretty: true).encode(record).write(
      to: URL(fileURLWithPath: (run.path as NSString).appendingPathComponent("cell.json")), options: .atomic)
  }

  static func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
  }
}

/// A TOML value as JSON: strings, numbers and booleans as themselves, arrays as arrays, tables
/// as objects (keys in the table's order are not kept: JSON objects are unordered).
public struct TOMLJSON: Encodable, Sendable {
  public let value: TOMLValue
  public init(_ value: TOMLValue) { self.value = value }

  struct Key: CodingKey {
    let stringValue: String
    init(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
  }

  public func encode(to encoder: any Encoder) throws {
    switch value {
    case let .string(s): var c = encoder.singleValueContainer(); try c.encode(s)
    case let .integer(i): var c = encoder.singleValueContainer(); try c.encode(i)
    case let .float(x): var c = encoder.singleValueContainer(); try c.encode(x)
    case let .boolean(b): var c = encoder.singleValueContainer(); try c.encode(b)
    case let .array(items):
      var c = encoder.unkeyedContainer()
      for item in items { try c.encode(TOMLJSON(item.value)) }
    case let .table(t):
      var c = encoder.container(keyedBy: Key.self)
      for k in t.keys { try c.encode(TOMLJSON(t[k]!.value), forKey: Key(stringValue: k)) }
    }
  }
}
